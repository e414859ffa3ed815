import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindMotion, parseArkitMotion, parseLamMotion, parseMotionText } from '../../viewer_web/src/motion.js';
import { ViewerError } from '../../viewer_web/src/errors.js';
import { FLAME_JOINTS } from '../../viewer_web/src/joints.js';

const b64 = (arr) => Buffer.from(new Float32Array(arr).buffer).toString('base64');
const lamMotion = (over = {}) => ({
  format: 'lam-motion', version: 1, fps: 25, frames: 2, channel_names: ['expr_00', 'eyeBlinkLeft'],
  channels: b64([1, 0, 3, 0.5]), pose: b64(Array.from({ length: 30 }, (_, i) => i / 100)), translation: b64([0, 0, 0, 0.1, 0.2, 0.3]),
  source: 'x.npz', ...over,
});

test('lam-motion parses and binds by name, reporting the channels the rig lacks', () => {
  const m = parseLamMotion(lamMotion());
  assert.equal(m.nFrames, 2);
  assert.equal(m.fps, 25);
  const b = bindMotion(m, ['expr_01', 'expr_00'], FLAME_JOINTS);
  assert.deepEqual(b.unmapped, ['eyeBlinkLeft']);
  const out = { expr: new Float32Array(2), pose: new Float32Array(15), translation: new Float32Array(3) };
  b.frameParams(1, out);
  assert.deepEqual([...out.expr], [0, 3]);
  assert.ok(Math.abs(out.pose[14] - 0.29) < 1e-6);
  b.paramsAt(0.5 / 25, out); // halfway between the frames
  assert.ok(Math.abs(out.expr[1] - 2) < 1e-6);
  assert.ok(Math.abs(out.translation[2] - 0.15) < 1e-6);
});

test('lam-motion: wrong sizes and values are refused with one line, before decoding', () => {
  assert.throws(() => parseLamMotion(lamMotion({ frames: 3 })), ViewerError);
  assert.throws(() => parseLamMotion(lamMotion({ frames: 1e12 })), /frame count/);
  assert.throws(() => parseLamMotion(lamMotion({ channels: 'AAAA' })), /holds 3 bytes, expected 16/);
  assert.throws(() => parseLamMotion(lamMotion({ translation: b64([0, 0, 0, NaN, 0, 0]) })), /NaN/);
  assert.throws(() => parseLamMotion(lamMotion({ fps: 0 })), /frame rate/);
  assert.throws(() => parseLamMotion(lamMotion({ version: 9 })), /version/);
  assert.throws(() => parseMotionText('{"frames": [', 'm.json'), /m.json: not valid JSON/);
  assert.throws(() => parseMotionText('[1, 2]', 'm.json'), /neither/);
});

test('ARKit JSON: fps from the times, head pose as the global rotation', () => {
  const m = parseArkitMotion({
    names: ['jawOpen', 'eyeBlinkLeft'],
    frames: [{ weights: [0, 1], time: 0 }, { weights: [0.5, 0], time: 0.02 }, { weights: [1, 0], time: 0.04 }],
    head_pose: [[0, 0.1, 0], [0, 0.2, 0], [0, 0.3, 0]],
  }, 'a.json');
  assert.ok(Math.abs(m.fps - 50) < 1e-6);
  assert.equal(m.pose[15 + 1], Math.fround(0.2));
  assert.throws(() => parseArkitMotion({ names: ['a'], frames: [{ weights: [1, 2] }] }, 'a.json'), /frames\[0\].weights must list 1/);
  assert.throws(() => parseArkitMotion({ names: ['a', 'a'], frames: [{ weights: [1, 2] }] }, 'a.json'), /repeats/);
});

test('joints by name: a rig with its joints in another order, or without eyes, gets each joint by its name', async () => {
  const { IdleAnimation } = await import('../../viewer_web/src/idle.js');
  const { MotionRecorder } = await import('../../viewer_web/src/webcam/recorder.js');
  const m = parseLamMotion(lamMotion());   // pose[f][j][c] = (f * 15 + j * 3 + c) / 100
  const permuted = ['global', 'neck', 'eye_r', 'eye_l', 'jaw'];
  const out = { expr: new Float32Array(2), pose: new Float32Array(15), translation: new Float32Array(3) };
  const b = bindMotion(m, ['expr_00', 'eyeBlinkLeft'], permuted);
  assert.deepEqual(b.unmapped, []);
  b.frameParams(1, out);
  permuted.forEach((name, r) => {
    const j = FLAME_JOINTS.indexOf(name);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(out.pose[r * 3 + c] - (15 + j * 3 + c) / 100) < 1e-6, `${name}[${c}]`);
  });
  // without eyes: the rest plays, the eyes are named as lacking
  const eyeless = bindMotion(m, ['expr_00', 'eyeBlinkLeft'], ['global', 'jaw', 'neck']);
  assert.deepEqual(eyeless.unmapped, ['eye_l', 'eye_r']);
  const small = { expr: new Float32Array(2), pose: new Float32Array(9), translation: new Float32Array(3) };
  eyeless.frameParams(0, small);
  assert.deepEqual([...small.pose].map((v) => Math.round(v * 100)), [0, 1, 2, 6, 7, 8, 3, 4, 5]);
  // the idle animation turns the joints named global and eye_l/eye_r, wherever they are
  const idle = new IdleAnimation(['expr_00'], permuted);
  let jaw = 0, head = 0, eyes = 0;
  for (let ms = 0; ms < 8000; ms += 50) {
    idle.paramsAt(ms, out);
    head = Math.max(head, Math.abs(out.pose[1]));
    eyes = Math.max(eyes, Math.abs(out.pose[6]), Math.abs(out.pose[9]));
    jaw = Math.max(jaw, ...out.pose.slice(3, 6).map(Math.abs), ...out.pose.slice(12, 15).map(Math.abs));
  }
  assert.ok(head > 0.01 && eyes > 0.01 && jaw === 0, `head ${head}, eyes ${eyes}, neck and jaw ${jaw}`);
  // a recording from that rig is written in the file's joint order (FLAME's)
  const rec = new MotionRecorder(['expr_00'], permuted, { fps: 10 });
  const p = { expr: Float32Array.from([1]), pose: Float32Array.from({ length: 15 }, (_, i) => i), translation: new Float32Array(3) };
  rec.add(0, p);
  rec.add(100, p);
  const back = parseLamMotion(JSON.parse(JSON.stringify(rec.toMotion())), 'rec.json');
  FLAME_JOINTS.forEach((name, j) => {
    const r = permuted.indexOf(name);
    assert.deepEqual([...back.pose.slice(j * 3, j * 3 + 3)], [r * 3, r * 3 + 1, r * 3 + 2], name);
  });
});
