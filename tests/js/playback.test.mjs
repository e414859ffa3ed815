import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleAnimation, blinkChannels } from '../../viewer_web/src/idle.js';
import { MotionPlayer } from '../../viewer_web/src/player.js';
import { bindMotion } from '../../viewer_web/src/motion.js';
import { FLAME_JOINTS } from '../../viewer_web/src/joints.js';
import { zeroParams } from '../../viewer_web/src/deform.js';

test('idle: blinks only where the rig has blink channels; small head and eye motion', () => {
  assert.deepEqual(blinkChannels(['expr_00', 'eyeBlinkLeft', 'eyeBlinkRight']), [1, 2]);
  assert.deepEqual(blinkChannels(['expr_00', 'expr_01']), []);
  const arkit = new IdleAnimation(['jawOpen', 'eyeBlinkLeft', 'eyeBlinkRight'], FLAME_JOINTS);
  const flame = new IdleAnimation(['expr_00', 'expr_01'], FLAME_JOINTS);
  const p = zeroParams(3), q = zeroParams(2);
  let maxBlink = 0, maxHead = 0, maxEye = 0;
  for (let ms = 0; ms < 20000; ms += 16) {
    arkit.paramsAt(ms, p);
    flame.paramsAt(ms, q);
    maxBlink = Math.max(maxBlink, p.expr[1], p.expr[2]);
    assert.equal(p.expr[0], 0);
    assert.ok(q.expr.every((x) => x === 0));
    maxHead = Math.max(maxHead, Math.hypot(p.pose[0], p.pose[1], p.pose[2]));
    maxEye = Math.max(maxEye, Math.abs(q.pose[9]), Math.abs(q.pose[10]));
  }
  assert.ok(maxBlink > 0.9, 'blinks close the eyes');
  assert.ok(maxHead > 0.01 && maxHead < 0.1, `head motion ${maxHead} rad`);
  assert.ok(maxEye > 0.01 && maxEye < 0.2, `gaze ${maxEye} rad`);
});

test('player: plays at the file rate, loops, pauses, seeks; a long stall does not jump', () => {
  const motion = { fps: 10, nFrames: 20, channelNames: ['a'], channels: Float32Array.from({ length: 20 }, (_, i) => i),
    pose: new Float32Array(20 * 15), translation: new Float32Array(60), source: 'm' };
  const b = bindMotion(motion, ['a'], FLAME_JOINTS);
  const pl = new MotionPlayer();
  pl.setMotion(b);
  assert.equal(pl.duration, 2);
  pl.play();
  pl.tick(1000);
  pl.tick(1100);
  assert.ok(Math.abs(pl.time - 0.1) < 1e-9);
  const out = zeroParams(1);
  pl.paramsAt(out);
  assert.ok(Math.abs(out.expr[0] - 1) < 1e-6);
  pl.tick(1100 + 10000); // a 10 s stall counts as 0.25 s
  assert.ok(Math.abs(pl.time - 0.35) < 1e-9);
  for (let t = 1200 + 10000; t < 1200 + 10000 + 2000; t += 100) pl.tick(t);
  assert.ok(pl.time < 2, 'loops');
  pl.pause();
  const t0 = pl.time;
  pl.tick(99999);
  assert.equal(pl.time, t0);
  pl.seek(5);
  assert.equal(pl.time, 2);
});
