import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindMotion, parseArkitMotion, parseLamMotion, parseMotionText } from '../../viewer_web/src/motion.js';
import { ViewerError } from '../../viewer_web/src/errors.js';

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
  const b = bindMotion(m, ['expr_01', 'expr_00'], 5);
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
