// node tests/js/run_lam_deform.mjs AVATAR.lam PARAMS.json OUT.bin
// Reads a .lam with the JS reader + the viewer's adapter, deforms it for each frame of PARAMS.json
// ({frames: [{expr, pose, translation}], view: [16], camera: {...}}) and writes per frame: means (n*3 f32),
// quats (n*4 f32), order (n u32); then the JS avatarCamera of the canonical means (16 f64 + 4 f64).
import { readFileSync, writeFileSync } from 'node:fs';
import { readLam } from '../../viewer_web/src/lam_reader.js';
import { avatarFromLam } from '../../viewer_web/src/lam_adapter.js';
import { canonicalMeans } from '../../viewer_web/src/avatar.js';
import { avatarCamera } from '../../viewer_web/src/camera.js';
import { Deformer } from '../../viewer_web/src/deform.js';
import { DepthSorter } from '../../viewer_web/src/sort.js';
import { texelBuffer } from '../../viewer_web/src/texels.js';

const [lamPath, paramsPath, outPath] = process.argv.slice(2);
const a = avatarFromLam(await readLam(new Uint8Array(readFileSync(lamPath))));
const spec = JSON.parse(readFileSync(paramsPath, 'utf8'));
const d = new Deformer(a), s = new DepthSorter(a.n);
const parts = [];
for (const f of spec.frames) {
  const m4 = texelBuffer(a.n), q4 = texelBuffer(a.n), order = new Uint32Array(a.n);
  d.deform({ expr: Float32Array.from(f.expr), pose: Float32Array.from(f.pose), translation: Float32Array.from(f.translation) }, m4, q4);
  s.sort(m4, 4, spec.view, order);
  const m3 = new Float32Array(a.n * 3);
  for (let i = 0; i < a.n; i++) m3.set(m4.subarray(i * 4, i * 4 + 3), i * 3);
  parts.push(Buffer.from(m3.buffer), Buffer.from(q4.buffer, 0, a.n * 16), Buffer.from(order.buffer));
}
const c = spec.camera;
const cam = avatarCamera(canonicalMeans(a), { yawDeg: c.yaw, pitchDeg: c.pitch, width: c.width, height: c.height });
parts.push(Buffer.from(Float64Array.from([...cam.worldToCamera, cam.fx, cam.fy, cam.cx, cam.cy]).buffer));
writeFileSync(outPath, Buffer.concat(parts));
