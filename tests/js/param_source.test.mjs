import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParamSource } from '../../viewer_web/src/param_source.js';

const RIG = { exprNames: ['expr_00', 'eyeBlinkLeft', 'eyeBlinkRight'], jointNames: ['global', 'neck', 'jaw', 'leye', 'reye'], nJoints: 5 };

/** A 2 s motion at 10 fps: expr_00 holds the frame index, notInTheRig is 1 throughout, the jaw opens 0.1 rad. */
function motion() {
  const n = 20;
  const pose = new Float32Array(n * 15);
  for (let i = 0; i < n; i++) pose[i * 15 + 6] = 0.1;
  return { fps: 10, nFrames: n, channelNames: ['expr_00', 'notInTheRig'], source: 'test.json',
    channels: Float32Array.from({ length: n * 2 }, (_, i) => (i % 2 ? 1 : i / 2)), pose, translation: new Float32Array(n * 3) };
}

const live = (jaw) => ({ expr: new Float32Array(3), pose: Float32Array.from({ length: 15 }, (_, i) => (i === 6 ? jaw : 0)), translation: [0, 0, 0.01] });

test('param source: manual > live > motion > idle > neutral, each falling back to the next when cleared', () => {
  const s = new ParamSource();
  const fields = Object.keys(s);
  assert.equal(s.setMotion(motion()), null, 'no rig yet: nothing to bind');
  const binding = s.setRig(RIG, 1000);
  assert.ok(binding, 'the motion set before the avatar is bound when it comes');
  assert.deepEqual(binding.unmapped, ['notInTheRig']);
  assert.equal(s.kind, 'motion');
  s.setLive(live(0.3));
  assert.equal(s.kind, 'live');
  s.setManual({ pose: { jaw: [0.5, 0, 0] } });
  assert.equal(s.kind, 'manual');
  assert.ok(Math.abs(s.paramsAt(2000).pose[6] - 0.5) < 1e-7, 'manual parameters drive');
  s.setManual(null);
  assert.equal(s.kind, 'live');
  assert.ok(Math.abs(s.paramsAt(2000).pose[6] - 0.3) < 1e-7, 'live parameters drive');
  assert.ok(Math.abs(s.paramsAt(2000).translation[2] - 0.01) < 1e-7);
  assert.equal(s.setLive(null), true);
  assert.equal(s.setLive(null), false, 'clearing what is not set changes nothing');
  assert.equal(s.kind, 'motion');
  s.player.seek(0.5);
  const m = s.paramsAt(2000);
  assert.ok(Math.abs(m.expr[0] - 5) < 1e-6 && Math.abs(m.pose[6] - 0.1) < 1e-7, 'the motion drives at its clock');
  s.setMotion(null);
  assert.equal(s.kind, 'idle');
  assert.equal(s.player.duration, 0, 'the clock lost its motion');
  const idle = new ParamSource({ idle: false });
  idle.setRig(RIG, 0);
  assert.equal(idle.kind, 'neutral');
  const p = idle.paramsAt(5000);
  assert.ok([...p.expr, ...p.pose, ...p.translation].every((x) => x === 0), 'neutral is all zeros');
  assert.deepEqual(Object.keys(s), fields, 'every field is set in the constructor');
});

test('param source: idle moves with time from the rig\'s start; neutral stays still', () => {
  const s = new ParamSource();
  s.setRig(RIG, 10_000);
  assert.equal(s.kind, 'idle');
  const a = Array.from(s.paramsAt(10_000).pose);
  const b = Array.from(s.paramsAt(11_000).pose);
  assert.notDeepEqual(a, b, 'the idle animation moves');
  // idle time counts from setRig's `now`: a second source started at 0 gives the same frame 1 s in
  const t = new ParamSource();
  t.setRig(RIG, 0);
  t.paramsAt(0);
  assert.deepEqual(Array.from(t.paramsAt(1000).pose), b);
});

test('param source: animating only while a motion plays or the avatar idles, and nothing overrides it', () => {
  const s = new ParamSource();
  s.setRig(RIG, 0);
  assert.equal(s.animating, true, 'idling animates');
  s.setMotion(motion());
  assert.equal(s.animating, false, 'a motion that does not play holds still');
  s.player.play();
  assert.equal(s.animating, true);
  s.setLive(live(0.2));
  assert.equal(s.animating, false, 'live parameters change only when set');
  s.setLive(null);
  s.setManual({ expr: [1, 0, 0] });
  assert.equal(s.animating, false, 'manual parameters hold still');
  s.setManual(null);
  s.player.pause();
  assert.equal(s.animating, false);
  const still = new ParamSource({ idle: false });
  still.setRig(RIG, 0);
  assert.equal(still.animating, false, 'without idle a still avatar does not animate');
});

test('param source: a new rig drops live parameters, keeps manual ones, binds the motion again', () => {
  const s = new ParamSource();
  s.setRig(RIG, 0);
  s.setMotion(motion());
  s.setLive(live(0.2));
  s.setManual({ expr: { expr_00: 1 } });
  const other = { exprNames: ['expr_00'], jointNames: RIG.jointNames, nJoints: 5 };
  const binding = s.setRig(other, 0);
  assert.equal(s.live, null);
  assert.ok(s.manual);
  assert.deepEqual(binding.unmapped, ['notInTheRig']);
  assert.equal(s.paramsAt(0), s.manual);
  s.setManual(null);
  assert.equal(s.paramsAt(0).expr.length, 1, 'the scratch frame has the new rig\'s channels');
});

test('param source: manual and live parameters are checked against the rig', () => {
  const s = new ParamSource();
  assert.throws(() => s.setManual({ expr: [0] }), /no avatar loaded/);
  assert.equal(s.setLive(live(0)), false, 'live parameters before an avatar are ignored');
  assert.equal(s.live, null);
  s.setRig(RIG, 0);
  assert.deepEqual(s.setManual({ expr: { expr_00: 0.5, mouthSmile: 1 }, pose: { nose: [0, 0, 0] } }), ['mouthSmile', 'nose']);
  assert.equal(s.manual.expr[0], 0.5);
  assert.throws(() => s.setManual({ expr: [1, 2] }), /expected 3 values, got 2/);
  assert.throws(() => s.setManual({ translation: [0, NaN, 0] }), /finite/);
  assert.equal(s.manual.expr[0], 0.5, 'a rejected call keeps the previous manual parameters');
  assert.throws(() => s.setLive({ expr: new Float32Array(2), pose: new Float32Array(15), translation: [0, 0, 0] }), /do not fit/);
  const p = live(0.4);
  s.setLive(p);
  p.pose[6] = 9;
  assert.ok(Math.abs(s.live.pose[6] - 0.4) < 1e-7, 'live parameters are copied');
});
