// node benchmarks/viewer_node_bench.mjs AVATAR.lam PARAMS.json [--dense]
// Per-frame CPU time of the viewer's deformation and depth sort in Node, on the avatar as the page gets it
// (the .lam reader + adapter). PARAMS.json: {frames: [{expr, pose, translation}], view: [16]}.
// --dense: fill the bases' zero entries (real FLAME's bases are dense; the synthetic model's are sparse).
// Prints JSON: median milliseconds per frame.
import { readFileSync } from 'node:fs';
import { avatarFromLam } from '../viewer_web/src/lam_adapter.js';
import { readLam } from '../viewer_web/src/lam_reader.js';
import { Deformer } from '../viewer_web/src/deform.js';
import { DepthSorter } from '../viewer_web/src/sort.js';
import { texelBuffer } from '../viewer_web/src/texels.js';

const [path, paramsPath, flag] = process.argv.slice(2);
let a = avatarFromLam(await readLam(new Uint8Array(readFileSync(path))));
if (flag === '--dense') {
  const dense = (b) => {
    const nv = a.nVertices, ptr = new Uint32Array(b.count + 1), index = new Uint32Array(b.count * nv);
    const delta = new Float32Array(b.count * nv * 3).fill(1e-7);
    for (let k = 0; k < b.count; k++) {
      ptr[k + 1] = (k + 1) * nv;
      for (let v = 0; v < nv; v++) index[k * nv + v] = v;
      for (let e = b.ptr[k]; e < b.ptr[k + 1]; e++) delta.set(b.delta.subarray(e * 3, e * 3 + 3), (k * nv + b.index[e]) * 3);
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
  nnz: a.expr.ptr[a.expr.count] + a.pose.ptr[a.pose.count],
  base_ms: median((i) => d.prepare(f(i))),
  skin_ms: median(() => d.skin(means, quats)),
  sort_ms: median(() => s.sort(means, 4, spec.view, order)),
  total_ms: median((i) => { d.deform(f(i), means, quats); s.sort(means, 4, spec.view, order); }),
};
console.log(JSON.stringify(out));
