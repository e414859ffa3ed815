import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADAPT, AdaptiveResolution, FrameLoop } from '../../viewer_web/src/frame_loop.js';
import { MotionPlayer } from '../../viewer_web/src/player.js';
import { bindMotion } from '../../viewer_web/src/motion.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A FrameLoop on a fake display (frames run when the test says, at the time it says) and a fake worker
 * (requests resolve when the test says, or at once with `instant`). */
function harness({ animating = false, instant = false, options = {} } = {}) {
  const h = {
    state: { loaded: true, animating, keepAlive: false, canAdapt: true },
    pending: new Map(), nextHandle: 1, requests: [], drawn: [], discarded: [], errors: [], events: 0,
    clock: new MotionPlayer(),
  };
  h.loop = new FrameLoop({
    requestFrame: (cb) => { const id = h.nextHandle++; h.pending.set(id, cb); return id; },
    cancelFrame: (id) => h.pending.delete(id),
    clock: h.clock,
    loaded: () => h.state.loaded,
    animating: () => h.state.animating || h.clock.playing,
    keepAlive: () => h.state.keepAlive,
    canAdapt: () => h.state.canAdapt,
    request: (now, deform) => new Promise((resolve, reject) => {
      const r = { now, deform, resolve, reject, frame: { id: h.requests.length, now, deform } };
      h.requests.push(r);
      if (instant) resolve(r.frame);
    }),
    draw: (frame, now) => h.drawn.push({ frame, now }),
    drawn: () => { h.events++; },
    discard: (frame) => h.discarded.push(frame),
    fail: (err) => h.errors.push(err),
  }, options);
  /** Run the display frame asked for (at most one is ever pending), then let promises settle. */
  h.frame = async (now) => {
    assert.ok(h.pending.size <= 1, 'at most one display frame is asked for');
    const cbs = [...h.pending.values()];
    h.pending.clear();
    for (const cb of cbs) cb(now);
    await settle();
    return cbs.length;
  };
  h.wantsFrame = () => h.pending.size > 0;
  return h;
}

function motion(seconds = 2, fps = 10) {
  const n = seconds * fps;
  return bindMotion({ fps, nFrames: n, channelNames: ['a'], channels: new Float32Array(n), pose: new Float32Array(n * 15),
    translation: new Float32Array(n * 3), source: 'm' }, ['a'], 5);
}

test('frame loop: a change asks for one frame, deforms, shows the result on the next frame, then rests', async () => {
  const h = harness();
  assert.equal(h.wantsFrame(), false, 'nothing changed: no frame asked for');
  h.loop.invalidate();
  h.loop.invalidate();
  assert.equal(h.pending.size, 1, 'two changes, one display frame');
  await h.frame(16);
  assert.equal(h.requests.length, 1);
  assert.equal(h.requests[0].deform, true, "'params' deforms");
  assert.equal(h.requests[0].now, 16);
  await h.frame(32);
  assert.equal(h.drawn.length, 0, 'nothing is drawn before the worker answers');
  assert.equal(h.requests.length, 1, 'one request in flight at most');
  h.requests[0].resolve(h.requests[0].frame);
  await settle();
  assert.equal(h.wantsFrame(), true, 'an answer asks for a display frame');
  await h.frame(48);
  assert.deepEqual(h.drawn.map((d) => [d.frame.id, d.now]), [[0, 48]]);
  assert.equal(h.events, 1);
  assert.equal(h.wantsFrame(), false, 'drawn and nothing changed: the loop rests');
  assert.equal(h.requests.length, 1);
  // a view change only sorts again
  h.loop.invalidate('view');
  await h.frame(64);
  assert.equal(h.requests[1].deform, false, "'view' only sorts");
  // the fps overlay keeps the loop ticking without new requests
  h.requests[1].resolve(null);   // superseded inside the worker: nothing to show
  await settle();
  h.state.keepAlive = true;
  await h.frame(80);
  assert.equal(h.wantsFrame(), true);
  assert.equal(h.requests.length, 2);
  assert.equal(h.drawn.length, 1);
});

test('frame loop: while animating every display frame deforms, one request in flight', async () => {
  const h = harness({ animating: true });
  h.loop.schedule();
  let t = 0;
  for (let i = 0; i < 6; i++) {
    await h.frame((t += 16));
    h.requests.at(-1).resolve(h.requests.at(-1).frame);
    await settle();
  }
  assert.equal(h.requests.length, 6);
  assert.ok(h.requests.every((r) => r.deform), 'animation deforms every frame');
  assert.equal(h.drawn.length, 5, 'each answer is drawn on the next display frame');
  // a slow worker: display frames go on (the last answer is drawn), no second request while one is in flight
  await h.frame((t += 16));
  await h.frame((t += 16));
  await h.frame((t += 16));
  assert.equal(h.requests.length, 7);
  assert.equal(h.drawn.length, 6);
  h.state.animating = false;
  h.requests.at(-1).resolve(h.requests.at(-1).frame);
  await settle();
  await h.frame((t += 16));
  assert.equal(h.drawn.length, 7);
  assert.equal(h.wantsFrame(), false, 'animation stopped: the loop rests');
});

test('frame loop: play, pause and seek drive the motion clock at the display frames', async () => {
  const h = harness({ instant: true });
  h.clock.setMotion(motion(2, 10));
  h.loop.play();
  assert.equal(h.wantsFrame(), true, 'play starts the loop');
  for (let t = 1000; t <= 1500; t += 50) await h.frame(t);
  assert.ok(Math.abs(h.clock.time - 0.5) < 1e-9, `the clock follows the display frames (${h.clock.time})`);
  const before = h.requests.length, held = h.clock.time;
  h.loop.pause();
  assert.equal(h.clock.playing, false);
  for (let t = 1550; t <= 1700; t += 50) await h.frame(t);
  assert.equal(h.clock.time, held, 'paused: the clock holds');
  assert.equal(h.requests.length, before + 1, 'pause deforms once more (the held frame), then rests');
  assert.equal(h.wantsFrame(), false);
  h.loop.seek(1.25);
  assert.equal(h.wantsFrame(), true, 'seeking redraws');
  await h.frame(1750);
  assert.equal(h.requests.at(-1).deform, true);
  assert.equal(h.clock.time, 1.25);
  h.loop.play();
  await h.frame(1800);
  await h.frame(1900);
  assert.ok(Math.abs(h.clock.time - 1.35) < 1e-9, 'playing again resumes from where it was');
});

test('frame loop: a hidden page stops the clock and the drawing; shown again, it resumes what played', async () => {
  const h = harness({ instant: true });
  h.clock.setMotion(motion(2, 10));
  h.loop.play();
  await h.frame(0);
  await h.frame(100);
  h.loop.setHidden(true);
  assert.equal(h.clock.playing, false, 'hidden: the clock pauses');
  const requests = h.requests.length, drawn = h.drawn.length, time = h.clock.time;
  h.loop.invalidate();
  await h.frame(5000);
  assert.equal(h.requests.length, requests, 'hidden: no work');
  assert.equal(h.drawn.length, drawn);
  assert.equal(h.clock.time, time);
  h.loop.setHidden(false);
  assert.equal(h.clock.playing, true, 'shown: it plays again');
  await h.frame(5100);
  await h.frame(5200);
  assert.ok(Math.abs(h.clock.time - (time + 0.1)) < 1e-9, 'the hidden time does not count');
  // paused by the user before hiding: stays paused when shown
  h.loop.pause();
  h.loop.setHidden(true);
  h.loop.setHidden(false);
  assert.equal(h.clock.playing, false);
});

test('frame loop: nothing happens without an avatar, and after dispose', async () => {
  const h = harness({ animating: true });
  h.state.loaded = false;
  h.loop.invalidate();
  await h.frame(16);
  assert.equal(h.requests.length, 0);
  h.state.loaded = true;
  h.loop.invalidate();
  assert.equal(h.wantsFrame(), true);
  h.loop.dispose();
  assert.equal(h.wantsFrame(), false, 'dispose cancels the display frame asked for');
  h.loop.invalidate();
  assert.equal(h.wantsFrame(), false);
});

test('frame loop: supersede (renderNow) drops what the loop has not shown; failures are reported', async () => {
  const h = harness();
  const fields = Object.keys(h.loop);
  h.loop.invalidate();
  await h.frame(16);
  const gen = h.loop.supersede();
  assert.equal(h.loop.isCurrent(gen), true);
  h.requests[0].resolve(h.requests[0].frame);
  await settle();
  assert.deepEqual(h.discarded.map((f) => f.id), [0], 'an answer to an older request is given back');
  await h.frame(32);
  assert.equal(h.drawn.length, 0, '... and never drawn');
  // an answer waiting to be shown is dropped when the picture was drawn outside the loop
  h.loop.invalidate();
  await h.frame(48);
  h.requests[1].resolve(h.requests[1].frame);
  await settle();
  assert.ok(h.loop.ready);
  h.loop.invalidate();
  h.loop.markDrawn();
  assert.equal(h.loop.ready, null);
  assert.equal(h.loop.dirty, false);
  await h.frame(64);
  assert.equal(h.drawn.length, 0);
  assert.equal(h.requests.length, 2, 'drawn outside the loop: nothing more to ask for');
  assert.equal(h.loop.isCurrent(gen + 1), false);
  // a failed request is reported and the loop can go on
  h.loop.invalidate();
  await h.frame(80);
  h.requests[2].reject(new Error('worker died'));
  await settle();
  assert.deepEqual(h.errors.map((e) => e.message), ['worker died']);
  assert.equal(h.loop.busy, false);
  h.loop.dispose();
  assert.deepEqual(Object.keys(h.loop), fields, 'every field is set in the constructor');
});

test('frame loop: the resolution drops while animation runs under 40 fps and comes back over 58 fps', async () => {
  const h = harness({ animating: true, instant: true });
  h.loop.schedule();
  const res = h.loop.resolution;
  let t = 1000;
  const run = async (fps, seconds) => { for (let end = t + seconds * 1000; t < end; t += 1000 / fps) await h.frame(t); };
  await run(30, 2.5);
  assert.equal(res.scale, ADAPT.step, '30 fps for 2 s: 15% fewer pixels per axis');
  await run(30, 20);
  assert.equal(res.scale, ADAPT.min, 'never under half');
  await run(50, 4);
  assert.equal(res.scale, ADAPT.min, 'between 40 and 58 fps it holds');
  await run(60, 30);
  assert.equal(res.scale, 1, 'back up to full resolution, not over');
  // a fixed camera, or a still avatar, never adapts
  h.state.canAdapt = false;
  await run(20, 5);
  assert.equal(res.scale, 1);
  const fixed = harness({ animating: true, instant: true, options: { resolution: { adaptive: false } } });
  fixed.loop.schedule();
  for (let s = 0; s < 5000; s += 50) await fixed.frame(s);
  assert.equal(fixed.loop.resolution.scale, 1, 'adaptive: false keeps the resolution');
  assert.ok(fixed.loop.fps.fps > 19 && fixed.loop.fps.fps < 21, `the frame rate is measured (${fixed.loop.fps.fps})`);
});

test('resolution: the device pixel ratio is capped, scaled, then capped by the pixel count', () => {
  const r = new AdaptiveResolution({ maxPixelRatio: 2, maxPixels: 1e6 });
  assert.deepEqual(r.pixelSize(400, 300, 1), [400, 300]);
  assert.deepEqual(r.pixelSize(400, 300, 3), [800, 600], 'device pixel ratio capped at 2');
  assert.deepEqual(r.pixelSize(400, 300, undefined), [400, 300]);
  const [w, h] = r.pixelSize(2000, 1000, 2);
  assert.ok(w * h <= 1e6 * 1.001 && w * h > 0.99e6, `capped at maxPixels (${w}x${h})`);
  assert.equal(w / h, 2, 'the aspect is kept');
  r.scale = 0.5;
  assert.deepEqual(r.pixelSize(400, 300, 2), [400, 300]);
  assert.deepEqual(r.pixelSize(0.2, 0.2, 1), [1, 1], 'never empty');
  // update(): one decision per period, only while active
  const a = new AdaptiveResolution();
  assert.equal(a.update(1000, 10, true), false, 'the first period is not over');
  assert.equal(a.update(2000, 10, true), true);
  assert.equal(a.scale, ADAPT.step);
  assert.equal(a.update(3000, 10, true), false, 'one decision per period');
  assert.equal(a.update(3999, 10, false), false);
  assert.equal(a.update(5000, 10, true), false, 'inactive time restarts the period');
  assert.equal(a.update(6000, 70, true), true);
  assert.equal(a.scale, 1);
});
