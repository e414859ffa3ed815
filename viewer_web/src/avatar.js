// The viewer's avatar structure (documented in README.md beside this file), its validation, and what is
// derived from it once at load time (per-Gaussian skinning weights).
//
// Every array is a typed array; counts are checked against lengths before anything is allocated from
// them, so a corrupt or hostile input fails with a ViewerError instead of crashing or exhausting memory.

// The caps are the .lam format's (lam_reader.js LIMITS, pinned to exporter/lamfile/spec.py by a test): an
// avatar the format allows is an avatar the viewer shows.

import { ViewerError } from './errors.js';
import { LIMITS } from './lam_reader.js';

const isInt = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;

function need(cond, msg) {
  if (!cond) throw new ViewerError(`avatar: ${msg}`);
}

function checkArray(a, name, types, length) {
  need(a != null && types.some((T) => a instanceof T), `${name} must be a ${types.map((T) => T.name).join(' or ')}`);
  need(a.length === length, `${name} has ${a.length} values, expected ${length}`);
}

const F32 = [Float32Array];
const INDEX = [Uint8Array, Uint16Array, Uint32Array];
const DELTA = [Float32Array, Int8Array, Int16Array];

/** Check a sparse channel-major basis {count, ptr, index, delta, scale} over `nv` vertices. */
function checkBasis(b, name, count, nv) {
  need(b != null && typeof b === 'object', `${name} basis is missing`);
  need(b.count === count, `${name} basis has ${b.count} channels, expected ${count}`);
  checkArray(b.ptr, `${name}.ptr`, [Uint32Array], count + 1);
  need(b.ptr[0] === 0, `${name}.ptr must start at 0`);
  for (let k = 0; k < count; k++) need(b.ptr[k + 1] >= b.ptr[k], `${name}.ptr decreases at channel ${k}`);
  const nnz = b.ptr[count];
  checkArray(b.index, `${name}.index`, INDEX, nnz);
  for (let i = 0; i < nnz; i++) if (b.index[i] >= nv) need(false, `${name}.index[${i}] = ${b.index[i]} >= ${nv} vertices`);
  checkArray(b.delta, `${name}.delta`, DELTA, nnz * 3);
  if (b.delta instanceof Float32Array) need(b.scale == null, `${name}.scale is only for integer deltas`);
  else checkArray(b.scale, `${name}.scale`, F32, count);
}

/** Validate an avatar (see README.md). Returns it; throws ViewerError naming the first problem. */
export function checkAvatar(a) {
  need(a != null && typeof a === 'object', 'not an object');
  need(isInt(a.n, 1, LIMITS.MAX_GAUSSIANS), `Gaussian count ${a.n} out of range`);
  need(isInt(a.nVertices, 1, LIMITS.MAX_VERTICES), `vertex count ${a.nVertices} out of range`);
  need(Array.isArray(a.exprNames) && a.exprNames.length <= LIMITS.MAX_CHANNELS, 'exprNames must be a list of names');
  const n = a.n, nv = a.nVertices, k = a.exprNames.length;
  checkArray(a.parents, 'parents', [Int32Array], a.parents?.length);
  const nj = a.parents.length;
  need(nj >= 1 && nj <= LIMITS.MAX_JOINTS, `joint count ${nj} out of range`);
  for (let j = 0; j < nj; j++) need(j === 0 ? a.parents[0] === -1 : a.parents[j] >= 0 && a.parents[j] < j,
    `parents[${j}] = ${a.parents[j]} (the root must be joint 0 and parents must come first)`);
  need(Array.isArray(a.jointNames) && a.jointNames.length === nj, 'jointNames must name every joint');
  checkArray(a.jointRest, 'jointRest', F32, nj * 3);
  checkArray(a.jointExpr, 'jointExpr', F32, k * nj * 3);
  checkArray(a.vertices, 'vertices', F32, nv * 3);
  checkBasis(a.expr, 'expr', k, nv);
  checkBasis(a.pose, 'pose', (nj - 1) * 9, nv);
  need(isInt(a.skinK, 1, Math.min(LIMITS.MAX_SKIN_K, nj)), `skinK ${a.skinK} out of range`);
  checkArray(a.skinIndex, 'skinIndex', INDEX, nv * a.skinK);
  checkArray(a.skinWeight, 'skinWeight', F32, nv * a.skinK);
  for (let i = 0; i < a.skinIndex.length; i++) if (a.skinIndex[i] >= nj) need(false, `skinIndex[${i}] >= ${nj} joints`);
  need(isInt(a.bindK, 1, LIMITS.MAX_BIND_K), `bindK ${a.bindK} out of range`);
  checkArray(a.bindIndex, 'bindIndex', INDEX, n * a.bindK);
  checkArray(a.bindWeight, 'bindWeight', F32, n * a.bindK);
  for (let i = 0; i < a.bindIndex.length; i++) if (a.bindIndex[i] >= nv) need(false, `bindIndex[${i}] >= ${nv} vertices`);
  checkArray(a.offsets, 'offsets', F32, n * 3);
  checkArray(a.colors, 'colors', F32, n * 3);
  checkArray(a.opacities, 'opacities', F32, n);
  checkArray(a.scales, 'scales', F32, n * 3);
  checkArray(a.rotations, 'rotations', F32, n * 4);
  if (a.landmarks != null) {
    const lm = a.landmarks;
    need(typeof lm === 'object', 'landmarks must be an object');
    checkArray(lm.ids, 'landmarks.ids', [Uint32Array, Int32Array], lm.ids?.length);
    const l = lm.ids.length;
    need(l <= LIMITS.MAX_LANDMARKS, `${l} landmarks is too many`);
    checkArray(lm.vertex, 'landmarks.vertex', [Uint32Array, Int32Array], l * 3);
    checkArray(lm.bary, 'landmarks.bary', F32, l * 3);
    for (let i = 0; i < l * 3; i++) {
      if (!(lm.vertex[i] >= 0 && lm.vertex[i] < nv)) need(false, `landmarks.vertex[${i}] is not a vertex index`);
      if (!Number.isFinite(lm.bary[i])) need(false, 'landmarks.bary contains NaN or infinity');
    }
  }
  for (const key of ['vertices', 'jointRest', 'offsets', 'colors', 'opacities', 'scales', 'rotations']) {
    const arr = a[key];
    for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i])) need(false, `${key} contains NaN or infinity`);
  }
  return a;
}

/** Per-Gaussian skinning weights (n*J, dense): the binding's interpolation of the base vertices' weights,
 * as lam_core.rig.RigPoints.lbs_weights. */
export function gaussianSkinWeights(a) {
  const nj = a.parents.length, n = a.n, bk = a.bindK, sk = a.skinK;
  const w = new Float32Array(n * nj);
  const acc = new Float64Array(nj);
  for (let i = 0; i < n; i++) {
    acc.fill(0);
    for (let b = 0; b < bk; b++) {
      const bw = a.bindWeight[i * bk + b];
      if (bw === 0) continue;
      const v = a.bindIndex[i * bk + b];
      for (let s = 0; s < sk; s++) acc[a.skinIndex[v * sk + s]] += bw * a.skinWeight[v * sk + s];
    }
    for (let j = 0; j < nj; j++) w[i * nj + j] = acc[j];
  }
  return w;
}

/** Canonical centres (rest point + offset), n*3: what the camera frames before any motion. */
export function canonicalMeans(a) {
  const out = new Float32Array(a.n * 3);
  const bk = a.bindK;
  for (let i = 0; i < a.n; i++) {
    let x = 0, y = 0, z = 0;
    for (let b = 0; b < bk; b++) {
      const w = a.bindWeight[i * bk + b], v = a.bindIndex[i * bk + b] * 3;
      x += w * a.vertices[v]; y += w * a.vertices[v + 1]; z += w * a.vertices[v + 2];
    }
    out[i * 3] = x + a.offsets[i * 3];
    out[i * 3 + 1] = y + a.offsets[i * 3 + 1];
    out[i * 3 + 2] = z + a.offsets[i * 3 + 2];
  }
  return out;
}
