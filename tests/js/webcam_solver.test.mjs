// The webcam solver's maths on synthetic rigs (tests/js/webcam_fixture.mjs): Procrustes, the bounded
// least squares, the landmark model of each avatar kind, pose/jaw/channel/gaze recovery, calibration,
// the One Euro filter, and the recording format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOINTS, faceRig, observe, params, posedLandmarks, rng } from './webcam_fixture.mjs';
import { boxQP, cholesky, choleskySolve, matrixToAxisAngle } from '../../viewer_web/src/webcam/linalg.js';
import { invertSimilarity, similarityProcrustes } from '../../viewer_web/src/webcam/procrustes.js';
import { buildLandmarkModel } from '../../viewer_web/src/webcam/landmark_model.js';
import { FaceSolver } from '../../viewer_web/src/webcam/solver.js';
import { OneEuroFilter } from '../../viewer_web/src/webcam/one_euro.js';
import { MotionRecorder } from '../../viewer_web/src/webcam/recorder.js';
import { axisAngleToMatrix } from '../../viewer_web/src/kinematics.js';
import { parseLamMotion } from '../../viewer_web/src/motion.js';

const W = 640, H = 480, DT = 1000 / 30;
const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

function calibrated(rig, opts = {}, { neutral = params(rig), camera = {} } = {}) {
  const solver = new FaceSolver(buildLandmarkModel(rig), opts);
  solver.beginCalibration();
  let t = 0;
  for (let f = 0; f < 40 && !solver.calibrated; f++, t += DT) solver.update(observe(rig, neutral, { ...camera, seed: f }), W, H, t);
  assert.ok(solver.calibrated, 'one second of frames calibrates');
  solver.t = t;
  return solver;
}

function solve(solver, rig, p, camera = {}, frames = 3) {
  let r;
  for (let f = 0; f < frames; f++) { r = solver.update(observe(rig, p, { ...camera, seed: 100 + f }), W, H, (solver.t += DT)); }
  return r.params;
}

const value = (rig, P, name) => P.expr[rig.exprNames.indexOf(name)];

test('Procrustes recovers a known similarity (20 degrees of yaw, scale, shift) and refuses degenerate input', () => {
  const r = rng(5), n = 60, a = new Float64Array(n * 3), b = new Float64Array(n * 3), w = new Float64Array(n);
  for (let i = 0; i < n * 3; i++) a[i] = r() - 0.5;
  for (let i = 0; i < n; i++) w[i] = 0.2 + r();
  const R = axisAngleToMatrix(0.1, (20 * Math.PI) / 180, -0.05, new Float64Array(9)), s = 1234.5, t = [300, -20, 7];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) b[i * 3 + c] = s * (R[c * 3] * a[i * 3] + R[c * 3 + 1] * a[i * 3 + 1] + R[c * 3 + 2] * a[i * 3 + 2]) + t[c];
  }
  const sim = similarityProcrustes(a, b, w, n);
  close(sim.s, s, 1e-6, 'scale');
  for (let k = 0; k < 9; k++) close(sim.R[k], R[k], 1e-10, `R[${k}]`);
  for (let c = 0; c < 3; c++) close(sim.t[c], t[c], 1e-6, `t[${c}]`);
  const back = invertSimilarity(sim, b, n, new Float64Array(n * 3));
  for (let i = 0; i < n * 3; i++) close(back[i], a[i], 1e-10, 'round trip');
  // a mirror image is not a rotation: the best proper rotation leaves a residual, never a reflection
  const m = Float64Array.from(b);
  for (let i = 0; i < n; i++) m[i * 3] = -m[i * 3];
  const sm = similarityProcrustes(a, m, w, n);
  const det = sm.R[0] * (sm.R[4] * sm.R[8] - sm.R[5] * sm.R[7]) - sm.R[1] * (sm.R[3] * sm.R[8] - sm.R[5] * sm.R[6]) + sm.R[2] * (sm.R[3] * sm.R[7] - sm.R[4] * sm.R[6]);
  close(det, 1, 1e-9, 'det R');
  assert.equal(similarityProcrustes(a, b, new Float64Array(n), n), null);
  assert.equal(similarityProcrustes(new Float64Array(n * 3), b, w, n), null);
});

test('box-constrained least squares: exact inside the box, KKT conditions at the bounds', () => {
  const r = rng(9);
  for (let trial = 0; trial < 50; trial++) {
    const n = 6, A = new Float64Array(12 * n), H = new Float64Array(n * n), b = new Float64Array(n);
    for (let i = 0; i < A.length; i++) A[i] = r() - 0.5;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < 12; k++) H[i * n + j] += A[k * n + i] * A[k * n + j];
    for (let i = 0; i < n; i++) { H[i * n + i] += 0.01; b[i] = 2 * (r() - 0.5); }
    const lo = new Float64Array(n).fill(trial % 2 ? 0 : -Infinity), hi = new Float64Array(n).fill(trial % 2 ? 1 : Infinity);
    const x = new Float64Array(n), work = new Float64Array(n * n + 2 * n);
    boxQP(H, b, lo, hi, n, x, work);
    if (trial % 2 === 0) {
      const L = Float64Array.from(H);
      assert.ok(cholesky(L, n));
      const y = choleskySolve(L, n, Float64Array.from(b));
      for (let i = 0; i < n; i++) close(x[i], y[i], 1e-9, 'unconstrained');
    } else {
      for (let i = 0; i < n; i++) {
        let g = -b[i];
        for (let j = 0; j < n; j++) g += H[i * n + j] * x[j];
        assert.ok(x[i] >= 0 && x[i] <= 1);
        if (x[i] > 1e-12 && x[i] < 1 - 1e-12) close(g, 0, 1e-9, 'gradient of a free variable');
        else if (x[i] <= 1e-12) assert.ok(g >= -1e-9, 'at the lower bound the gradient points up');
        else assert.ok(g <= 1e-9, 'at the upper bound the gradient points down');
      }
    }
  }
});

test('landmark model: the three avatar kinds, and a readable refusal without an embedding', () => {
  const flame = buildLandmarkModel(faceRig('flame'));
  assert.equal(flame.kind, 'FLAME');
  assert.equal(flame.solve.channels.length, 100);
  assert.ok(flame.jaw && flame.jaw.correctives, 'FLAME: the jaw joint with its pose correctives');
  const arkit = buildLandmarkModel(faceRig('arkit'));
  assert.equal(arkit.kind, 'ARKit');
  assert.equal(arkit.jaw, null, 'no jaw skinning: jawOpen is a channel');
  assert.ok(arkit.exprNames.indexOf('jawOpen') >= 0 && [...arkit.solve.channels].includes(arkit.exprNames.indexOf('jawOpen')));
  assert.ok([...arkit.solve.lo].every((v) => v === 0) && [...arkit.solve.hi].every((v) => v === 1), 'ARKit channels are bounded 0..1');
  const open = buildLandmarkModel(faceRig('landmarks'));
  assert.equal(open.kind, 'landmark channels');
  assert.equal(open.copy.channels.length, 1404);
  assert.ok(open.jaw && open.unused.includes('jawOpen'), 'the jaw joint is solved, jawOpen left out');
  close(open.eyes.radius, 0.012, 1e-6, 'eyeball radius from the iris landmarks');
  const bare = faceRig('arkit');
  bare.landmarks = null;
  assert.throws(() => buildLandmarkModel(bare), /no face-landmark embedding/);
});

test('solver recovers head pose (20 degrees of yaw), jaw, channels and gaze on every kind of rig', () => {
  const yaw = (20 * Math.PI) / 180;
  const cases = {
    flame: { expr: { expr_03: 1.2, expr_10: -0.8, expr_42: 0.6 }, jaw: 0.3 },
    arkit: { expr: { eyeBlinkLeft: 0.9, mouthSmileRight: 0.6, jawOpen: 0.5, browInnerUp: 0.4 }, jaw: 0, tol: 0.03 },
    landmarks: { expr: { eyeBlinkRight: 0.8, mouthSmileLeft: 0.5 }, jaw: 0.3, tol: 0.03 },
  };
  for (const [kind, c] of Object.entries(cases)) {
    const rig = faceRig(kind);
    const solver = calibrated(rig, { smoothing: false });
    const truth = params(rig, { expr: c.expr, pose: { global: [0.05, yaw, 0.02], jaw: [c.jaw, 0, 0], eye_l: [0, 0.15, 0], eye_r: [0, 0.15, 0] } });
    const P = solve(solver, rig, truth);
    for (let k = 0; k < 3; k++) close(P.pose[k], truth.pose[k], 2e-3, `${kind} global[${k}]`);
    close(P.pose[6], c.jaw, 5e-3, `${kind} jaw`);
    close(P.pose[10], 0.15, 0.02, `${kind} gaze yaw`);
    if (kind === 'flame') {
      // 100 overlapping channels seen through 468 points: the landmarks pin down all but a few
      // directions, which the ridge keeps small
      let e2 = 0, t2 = 0;
      P.expr.forEach((v, i) => { e2 += (v - truth.expr[i]) ** 2; t2 += truth.expr[i] ** 2; });
      assert.ok(Math.sqrt(e2 / t2) < 0.2, `relative expression error ${Math.sqrt(e2 / t2)}`);
    } else {
      for (const [name, v] of Object.entries(c.expr)) close(value(rig, P, name), v, c.tol, `${kind} ${name}`);
    }
    // the avatar posed by the solved parameters puts every face landmark where the observed one is (head
    // frame: the same global rotation and gaze on both sides); exact with landmark channels
    const a = posedLandmarks(rig, { ...P, pose: truth.pose }), b = posedLandmarks(rig, truth);
    let worst = 0;
    for (let i = 0; i < 468 * 3; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst < (kind === 'landmarks' ? 2e-5 : 2e-4), `${kind}: landmarks reproduced to ${worst} m`);
  }
});

test('solver: gaze up/down and sideways from the iris', () => {
  const rig = faceRig('arkit');
  const solver = calibrated(rig, { smoothing: false });
  for (const [pitch, yawE] of [[0.2, 0], [-0.15, 0], [0, -0.25], [0, 0.3]]) {
    const P = solve(solver, rig, params(rig, { pose: { eye_l: [pitch, yawE, 0], eye_r: [pitch, yawE, 0] } }));
    close(P.pose[9], pitch, 0.02, 'pitch');
    close(P.pose[10], yawE, 0.02, 'yaw');
  }
});

test('calibration removes a resting offset: a user who smiles at rest drives no smile, and the head pose is relative to the calibration pose', () => {
  const rig = faceRig('arkit');
  const smile = params(rig, { expr: { mouthSmileLeft: 0.7, mouthSmileRight: 0.7 } });
  const tilt = [0, (10 * Math.PI) / 180, 0];
  const camera = { rot: tilt };
  const solver = calibrated(rig, { smoothing: false }, { neutral: smile, camera });
  let P = solve(solver, rig, smile, camera);
  close(value(rig, P, 'mouthSmileLeft'), 0, 0.02, 'smile at rest');
  close(Math.hypot(P.pose[0], P.pose[1], P.pose[2]), 0, 2e-3, 'calibration pose = rest pose');
  // a blink and 20 more degrees of yaw on top of the resting smile
  const more = params(rig, { expr: { mouthSmileLeft: 0.7, mouthSmileRight: 0.7, eyeBlinkLeft: 1 }, pose: { global: [0, (20 * Math.PI) / 180, 0] } });
  P = solve(solver, rig, more, camera);
  close(value(rig, P, 'eyeBlinkLeft'), 1, 0.03, 'blink');
  close(value(rig, P, 'mouthSmileLeft'), 0, 0.03, 'smile');
  close(P.pose[1], (20 * Math.PI) / 180, 3e-3, 'relative yaw');
  // without calibration the rest pose is absolute
  const raw = new FaceSolver(buildLandmarkModel(rig), { smoothing: false });
  const r = raw.update(observe(rig, params(rig), camera), W, H, 0);
  close(r.params.pose[1], tilt[1], 2e-3, 'uncalibrated yaw');
  assert.equal(r.params.expr.every((v) => v === 0), true, 'no expressions before calibration');
});

test('solver with MediaPipe-like noise: a still face does not drift, smoothing reduces jitter', () => {
  const rig = faceRig('landmarks');
  const solver = calibrated(rig, {});
  const still = params(rig);
  let maxJaw = 0, maxYaw = 0, maxBlink = 0;
  for (let f = 0; f < 150; f++) {
    const r = solver.update(observe(rig, still, { noise: 0.8, seed: 1000 + f }), W, H, (solver.t += DT));
    maxJaw = Math.max(maxJaw, Math.abs(r.params.pose[6]));
    maxYaw = Math.max(maxYaw, Math.abs(r.params.pose[1]));
    maxBlink = Math.max(maxBlink, value(rig, r.params, 'eyeBlinkLeft'));
  }
  assert.ok(maxJaw < 0.02, `jaw jitter ${maxJaw} rad`);
  assert.ok(maxYaw < 0.01, `yaw jitter ${maxYaw} rad`);
  assert.ok(maxBlink < 0.2, `blink jitter ${maxBlink}`);
});

test('solver refuses degenerate frames without throwing', () => {
  const rig = faceRig('arkit');
  const solver = new FaceSolver(buildLandmarkModel(rig));
  assert.equal(solver.update(new Float32Array(10), W, H, 0), null);
  const lm = observe(rig, params(rig));
  lm[5] = NaN;
  assert.equal(solver.update(lm, W, H, 0), null);
  assert.equal(solver.update(observe(rig, params(rig)), 0, H, 0), null);
  assert.equal(solver.update(new Float32Array(478 * 3), W, H, 0), null, 'all landmarks at one point');
});

test('One Euro filter: a step is followed within two frames; a still signal jitters less', () => {
  const f = new OneEuroFilter([1], { minCutoff: 1, beta: 4 });
  const v = [0];
  f.filter(v, 0);
  const out = [];
  for (let k = 1; k <= 4; k++) { v[0] = 1; f.filter(v, k * DT); out.push(v[0]); }
  assert.ok(out[1] >= 0.9, `after two frames: ${out}`);
  const g = new OneEuroFilter([1], { minCutoff: 1, beta: 4 }), r = rng(4);
  let raw = 0, smooth = 0;
  for (let k = 0; k < 300; k++) {
    const x = 0.02 * (r() - 0.5), y = [x];
    g.filter(y, k * DT);
    if (k > 30) { raw += x * x; smooth += y[0] * y[0]; }
  }
  assert.ok(smooth < raw / 4, `jitter ${Math.sqrt(smooth)} vs ${Math.sqrt(raw)}`);
});

test('recording: resampled to a fixed rate, written as lam-motion that the viewer parses back', () => {
  const names = ['jawOpen', 'eyeBlinkLeft', 'unused'];
  const rec = new MotionRecorder(names, JOINTS, { fps: 10 });
  for (let k = 0; k <= 10; k++) {
    const p = { expr: Float32Array.from([k / 10, 0.5, 0]), pose: new Float32Array(15), translation: new Float32Array(3) };
    p.pose[1] = k * 0.01;
    rec.add(k * 50, p);  // 20 fps, 0.5 s
  }
  const m = rec.toMotion('webcam test');
  assert.equal(m.frames, 6);
  assert.deepEqual(m.channel_names, ['jawOpen', 'eyeBlinkLeft']);
  const parsed = parseLamMotion(JSON.parse(JSON.stringify(m)), 'rec.json');
  assert.equal(parsed.nFrames, 6);
  close(parsed.channels[5 * 2], 1.0, 1e-6, 'last jawOpen');
  close(parsed.channels[2 * 2], 0.4, 1e-6, 'jawOpen at 0.2 s');
  close(parsed.pose[3 * 15 + 1], 0.06, 1e-6, 'yaw at 0.3 s');
  assert.equal(new MotionRecorder(names, JOINTS).toMotion(), null);
});

test('rotation helpers: axis-angle round trip', () => {
  for (const aa of [[0.3, -0.2, 0.1], [0, 0, 0], [1e-9, 0, 0], [0, 3.1, 0]]) {
    const R = axisAngleToMatrix(aa[0], aa[1], aa[2], new Float64Array(9));
    const back = matrixToAxisAngle(R, new Float64Array(3));
    for (let k = 0; k < 3; k++) close(back[k], aa[k], 1e-6, `axis-angle ${aa}`);
  }
});
