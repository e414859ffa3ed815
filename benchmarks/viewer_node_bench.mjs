// node benchmarks/viewer_node_bench.mjs AVATAR.lam PARAMS.json [--dense]
// Per-frame CPU time of the viewer's deformation and depth sort in Node, on the avatar as the page gets it
// (the .lam reader + adapter). PARAMS.json: {frames: [{expr, pose, translation}], view: [16]}.
// --dense: fill the bases' zero entries (real FLAME's bases are dense; the synthetic model's are sparse).
// Prints JSON: median milliseconds per frame; the bytes the avatar's bases hold in memory (as read, and as
// they would be with float32 deltas) and the bytes of all its typed arrays.
import { readFileSync } from 'node:fs';
import { avatarFromLam } from '../viewer_web/src/lam_adapter.js';
import { readLam } from '../viewer_web/src/lam_reader.js';
import { Deformer } from '../viewer_web/src/deform.js';
import { DepthSorter } from '../viewer_web/src/sort.js';
import { texelBuffer } from '../viewer_web/src/texels.js';

const [path, paramsPath, flag] = process.argv.slice(2);
let a = avatarFromLam(await readLam(new Uint8Array(readFileSync(path))));
const basisBytes = (b) => b.ptr.byteLength + b.index.byteLength + b.delta.byteLength + (b.scale?.byteLength ?? 0);
const memory = {
  basis_bytes: basisBytes(a.expr) + basisBytes(a.pose),
  basis_f32_bytes: [a.expr, a.pose].reduce((t, b) => t + b.ptr.byteLength + b.index.byteLength + b.delta.length * 4, 0),
  avatar_bytes: (() => {
    const seen = new Set();
    const walk = (o) => Object.values(o).reduce((t, v) => {
      if (ArrayBuffer.isView(v)) { if (seen.has(v.buffer)) return t; seen.add(v.buffer); return t + v.buffer.byteLength; }
      return v && typeof v === 'object' && !Array.isArray(v) ? t + walk(v) : t;
    }, 0);
    return walk(a);
  })(),
};
if (flag === '--dense') {
  const dense = (b) => {
    const nv = a.nVertices, ptr = new Uint32Array(b.count + 1), index = new Uint32Array(b.count * nv);
    const delta = new Float32Array(b.count * nv * 3).fill(1e-7);
    for (let k = 0; k < b.count; k++) {
      ptr[k + 1] = (k + 1) * nv;
      for (let v = 0; v < nv; v++) index[k * nv + v] = v;
      const s = b.scale ? b.scale[k] : 1;
      for (let e = b.ptr[k]; e < b.ptr[k + 1]; e++) {
        for (let c = 0; c < 3; c++) delta[(k * nv + b.index[e]) * 3 + c] = b.delta[e * 3 + c] * s;
      }
    }
    return { count: b.count, ptr, index, delta, scale: null };
  };
  a = { ...a, expr: dense(a.expr), pose: dense(a.pose) };
}
const spec = JSON.parse(readFileSync(paramsPath, 'utf8'));
const frames = spec.frames.map((f) => ({ expr: Float32Array.from(f.expr), pose: Float32Array.from(f.pose), translation: Float32Array.from(f.translation) }));
const d = new Deformer(a), s = new DepthSorter(a.n);
const means = texelBuffer(a.n), quats = texelBuffer(a.n), order = new Uint32Array(a.n);
const median = (fn, reps = 150) => {
  for (let i = 0; i < 15; i++) fn(i);
  const t = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); fn(i); t.push(performance.now() - t0); }
  t.sort((x, y) => x - y);
  return t[t.length >> 1];
};
const f = (i) => frames[i % frames.length];
const out = {
  n: a.n,
  ...memory,
  nnz: a.expr.ptr[a.expr.count] + a.pose.ptr[a.pose.count],
  base_ms: median((i) => d.prepare(f(i))),
  skin_ms: median(() => d.skin(means, quats)),
  sort_ms: median(() => s.sort(means, 4, spec.view, order)),
  total_ms: median((i) => { d.deform(f(i), means, quats); s.sort(means, 4, spec.view, order); }),
};
console.log(JSON.stringify(out));
