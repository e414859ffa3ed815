// node tests/js/run_deform.mjs FIXTURE_DIR PARAMS.json OUT.bin
// Deforms the raw fixture avatar for each frame of PARAMS.json ({frames: [{expr, pose, translation}], view})
// and writes, per frame, means (n*4 f32), quats (n*4 f32) and the back-to-front order (n u32).
import { readFileSync, writeFileSync } from 'node:fs';
import { readRawAvatar } from './raw_avatar.mjs';
import { checkAvatar } from '../../viewer_web/src/avatar.js';
import { Deformer } from '../../viewer_web/src/deform.js';
import { DepthSorter } from '../../viewer_web/src/sort.js';

const [dir, paramsPath, outPath] = process.argv.slice(2);
const avatar = checkAvatar(readRawAvatar(dir));
const spec = JSON.parse(readFileSync(paramsPath, 'utf8'));
const d = new Deformer(avatar);
const s = new DepthSorter(avatar.n);
const parts = [];
for (const f of spec.frames) {
  const means = new Float32Array(avatar.n * 4), quats = new Float32Array(avatar.n * 4), order = new Uint32Array(avatar.n);
  d.deform({ expr: Float32Array.from(f.expr), pose: Float32Array.from(f.pose), translation: Float32Array.from(f.translation) }, means, quats);
  s.sort(means, 4, spec.view, order);
  parts.push(Buffer.from(means.buffer), Buffer.from(quats.buffer), Buffer.from(order.buffer));
}
writeFileSync(outPath, Buffer.concat(parts));
