// The webcam solver: MediaPipe's 478 landmarks of one frame -> the avatar's frame parameters.
//
//   1. pixels: q_i = (x W, y H, z W) (MediaPipe's x, y are relative to the image, z to its width).
//   2. head pose: weighted similarity Procrustes q_i ~ s R ref_i + t, ref = the user's calibrated neutral
//      (before calibration: the avatar's own landmarks); weights favour landmarks the rig cannot move.
//      s absorbs the scale (pixels per avatar metre), so p_i = R^T (q_i - t) / s are the user's landmarks in
//      the avatar's head frame, at the avatar's size, and d_i = p_i - ref_i their neutral-relative motion.
//   3. one joint linear least-squares step over a small correction of the pose (rotation w, scale, shift:
//      7 unknowns), the solved channels e (boxed where bounded: ARKit 0..1) and the jaw angle theta:
//        min sum_i v_i |W_axis (w x r_i + ds r_i + dt + sum_k e_k D_ik - g_i(theta))|^2 + sum_k l_k e_k^2
//      with g_i(theta) = M_i(theta)^-1 (d_i - J_i(theta)) the displacement the channels must make before
//      the jaw's skinning turns it (M_i = I + w_i (R_x(theta) - I), w_i the landmark's jaw weight; J the
//      jaw's exact displacement, pose correctives included), linearised around the current angle;
//      r_i = ref_i minus its centroid. The Gram matrix of the pose and channel columns is constant
//      (factorised once at calibration); only the jaw's column changes, so a frame costs two passes over
//      the columns and a few triangular solves, plus an active-set solve when a bound is hit.
//      Steps 2-3 run twice: the pose correction is composed into the similarity and the jaw re-linearised.
//   4. landmark channels (the open head): what the solved part does not explain, g_i - sum_k e_k D_ik,
//      copied into the lmk_NNN_* channels (exact: the rig then reproduces the observed landmarks).
//      Priors tie what MediaPipe measures best to the channel it measures: the opening of each eye (upper
//      minus lower lid, summed across the eye) to its eyeBlink channel, the mouth's (inner lips) to the jaw
//      (or jawOpen): lambda (value - target)^2, the target being the opening the user shows (less what the
//      other channels open, for the mouth) over what this one opens per unit. Head turns and MediaPipe's depth blur the
//      lids' motion but not their gap; the chin lags the lips (on the test clip the chin moves 35-45% of
//      the truth, the lips 85-90%). (Adding the openings as plain extra equations lets other channels
//      absorb them: measured worse, jaw gain 0.64, blink false positives.)
//   5. gaze: the iris centres' displacement relative to the eye corners, as eye rotations.
//   6. the head rotation relative to the calibration pose; One Euro smoothing of everything.
// Pure and synchronous (no DOM): Node unit-tests it.

import { boxQP, cholesky, choleskySolve, matrixToAxisAngle, mul3, mul3T, quaternionToMatrix } from './linalg.js';
import { axisAngleToMatrix, matrixToQuaternion } from '../kinematics.js';
import { OneEuroFilter } from './one_euro.js';
import { invertSimilarity, newSimilarity, similarityProcrustes } from './procrustes.js';
import { N_MEDIAPIPE } from './landmark_model.js';

export const SOLVER_DEFAULTS = Object.freeze({
  iterations: 2,          // pose correction / jaw linearisation rounds per frame
  calibrationMs: 1000,
  calibrationMinFrames: 3,
  relativePose: true,     // the calibration pose is the avatar's rest pose
  smoothing: true,
  minCutoff: 1.0,         // One Euro (Hz)
  beta: 4.0,
  maxGaze: 0.6,           // radians
});

const RIGID = 7;          // rotation (3), scale (1), translation (3)
const JAW_STEP = 1e-4;
const D = [1, -1, -1];    // head frame (y up, z forward) -> camera axes (y down, z away): diag(1, -1, -1)

export class FaceSolver {
  constructor(model, options = {}) {
    this.model = model;
    this.options = { ...SOLVER_DEFAULTS, ...options };
    const n = model.n, S = model.solve.channels.length, C = model.copy.channels.length;
    this.S = S;
    this.nf = RIGID + S;                       // fixed columns: pose correction + channels
    this.nx = this.nf + (model.jaw ? 1 : 0);   // + the jaw
    const n3 = n * 3;
    for (const k of ['q', 'p', 'd', 'target', 'J0', 'Jp', 'Jm', 'Jg', 'jcol']) this[k] = new Float64Array(n3);
    this.cols = new Float64Array(RIGID * n3);  // pose-correction columns (set at calibration)
    this.x = new Float64Array(this.nx);
    this.H = new Float64Array(this.nx * this.nx);
    this.H0 = new Float64Array(this.nf * this.nf);
    this.L0 = new Float64Array(this.nf * this.nf);
    this.b = new Float64Array(this.nx);
    this.c = new Float64Array(this.nf);
    this.y1 = new Float64Array(this.nf);
    this.y2 = new Float64Array(this.nf);
    this.lo = new Float64Array(this.nx).fill(-Infinity);
    this.hi = new Float64Array(this.nx).fill(Infinity);
    this.lo.set(model.solve.lo, RIGID); this.hi.set(model.solve.hi, RIGID);
    if (model.jaw) { this.lo[this.nf] = model.jaw.lo; this.hi[this.nf] = model.jaw.hi; }
    this.work = new Float64Array(this.nx * this.nx + 2 * this.nx + 2);
    this.sim = newSimilarity();
    this.centroid = new Float64Array(3);
    this.m3 = new Float64Array(9);
    this.m3b = new Float64Array(9);
    this.rot = new Float64Array(9);
    this.rel = new Float64Array(9);
    this.aa = new Float64Array(3);
    // filtered state: [global axis-angle (3), jaw, gaze pitch, gaze yaw, solved channels (S), copied (C)]
    this.state = new Float64Array(6 + S + C);
    const scales = new Float64Array(this.state.length);
    scales.fill(0.35, 0, 6);
    for (let c = 0; c < S; c++) scales[6 + c] = model.solve.hi[c] <= 1 ? 1 : 2;
    scales.fill(0.01, 6 + S);
    this.filter = new OneEuroFilter(scales, { minCutoff: this.options.minCutoff, beta: this.options.beta });
    this.neutral = null;
    this.neutralRot = null;
    this.calibration = null;
    this.params = { expr: new Float32Array(model.nExpr), pose: new Float32Array(model.nJoints * 3), translation: new Float32Array(3) };
    this.lastSolveMs = 0;
  }

  get calibrated() { return this.neutral !== null; }
  get calibrating() { return this.calibration !== null; }

  /** Start (or restart) the neutral-face calibration: the next calibrationMs of frames. */
  beginCalibration() {
    this.calibration = { frames: [], quats: [], first: null, last: null };
  }

  /** Use a given neutral (n*3 head-frame landmarks, e.g. the avatar's own m.rest) and calibration rotation
   * (3x3 camera-axes rotation, default the frontal R0). */
  setNeutral(neutral, rotation = Float64Array.from([1, 0, 0, 0, -1, 0, 0, 0, -1])) {
    this.neutral = Float64Array.from(neutral);
    this.neutralRot = Float64Array.from(rotation);
    this._prepareNeutral();
  }

  /** Forget the smoothing state (the face was lost; the next frame starts afresh). */
  lost() {
    this.filter.reset();
  }

  /**
   * One frame. landmarks: 478*3 (or more) MediaPipe values (x, y relative to the image, z relative to its
   * width); width, height: the image size in pixels; timeMs: the frame's time. With calibrationFrame false a
   * running calibration does not use this frame. Returns {params (reused object: copy what you keep),
   * calibrating, calibrated, solveMs} or null when the landmarks are degenerate.
   */
  update(landmarks, width, height, timeMs, { calibrationFrame = true } = {}) {
    const t0 = performance.now();
    const m = this.model, n = m.n;
    if (!landmarks || landmarks.length < N_MEDIAPIPE * 3 || !(width > 0) || !(height > 0)) return null;
    const q = this.q;
    for (let i = 0; i < n; i++) {
      const o = m.ids[i] * 3;
      q[i * 3] = landmarks[o] * width;
      q[i * 3 + 1] = landmarks[o + 1] * height;
      q[i * 3 + 2] = landmarks[o + 2] * width;
      if (!Number.isFinite(q[i * 3] + q[i * 3 + 1] + q[i * 3 + 2])) return null;
    }
    const ref = this.neutral ?? m.rest;
    if (!similarityProcrustes(ref, q, m.rigid, n, this.sim)) return null;
    invertSimilarity(this.sim, q, n, this.p);
    if (this.neutral) {
      for (let it = 0; it < this.options.iterations; it++) {
        for (let i = 0; i < n * 3; i++) this.d[i] = this.p[i] - ref[i];
        this._solveJoint();
        this._correctPose();
        invertSimilarity(this.sim, q, n, this.p);
      }
      for (let i = 0; i < n * 3; i++) this.d[i] = this.p[i] - ref[i];
    }
    const st = this.state;
    st.fill(0);
    if (this.calibration && calibrationFrame) this._collect(timeMs);
    // head rotation: R maps head-frame points to camera axes, R = R0 H with R0 = diag(1, -1, -1) and H the
    // head's rotation; relative to the calibration pose H_c = R0^T R_c: H H_c^T = R0^T R R_c^T R0
    const R = this.sim.R, relative = this.neutralRot !== null && this.options.relativePose;
    if (relative) mul3T(R, this.neutralRot, this.rot);
    else this.rot.set(R);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) this.rel[i * 3 + j] = D[i] * (relative ? D[j] : 1) * this.rot[i * 3 + j];
    }
    matrixToAxisAngle(this.rel, this.aa);
    st[0] = this.aa[0]; st[1] = this.aa[1]; st[2] = this.aa[2];
    if (this.neutral) {
      if (m.jaw) st[3] = this.x[this.nf];
      this._gaze(st);
      for (let c = 0; c < this.S; c++) st[6 + c] = this.x[RIGID + c];
      this._copyResidual(st);
    }
    if (this.options.smoothing) this.filter.filter(st, timeMs);
    this._writeParams(st);
    this.lastSolveMs = performance.now() - t0;
    return { params: this.params, calibrating: this.calibrating, calibrated: this.calibrated, solveMs: this.lastSolveMs };
  }

  // ------------------------------------------------------------------------------------------ internals

  /** Pose-correction columns about the neutral's centroid and the constant part of the normal equations. */
  _prepareNeutral() {
    const m = this.model, n = m.n, S = this.S, nf = this.nf, ref = this.neutral, w = m.exprWeight, ax = m.axis;
    const cen = this.centroid;
    cen.fill(0);
    let sw = 0;
    for (let i = 0; i < n; i++) {
      sw += w[i];
      for (let c = 0; c < 3; c++) cen[c] += w[i] * ref[i * 3 + c];
    }
    for (let c = 0; c < 3; c++) cen[c] /= Math.max(sw, 1e-12);
    const n3 = n * 3, cols = this.cols;
    cols.fill(0);
    for (let i = 0; i < n; i++) {
      const x = ref[i * 3] - cen[0], y = ref[i * 3 + 1] - cen[1], z = ref[i * 3 + 2] - cen[2], o = i * 3;
      cols[o + 1] = -z; cols[o + 2] = y;                   // w_x: e_x x r
      cols[n3 + o] = z; cols[n3 + o + 2] = -x;             // w_y: e_y x r
      cols[2 * n3 + o] = -y; cols[2 * n3 + o + 1] = x;     // w_z: e_z x r
      cols[3 * n3 + o] = x; cols[3 * n3 + o + 1] = y; cols[3 * n3 + o + 2] = z;   // scale
      cols[4 * n3 + o] = 1; cols[5 * n3 + o + 1] = 1; cols[6 * n3 + o + 2] = 1;   // shift
    }
    const col = (a) => (a < RIGID ? cols.subarray(a * n3, (a + 1) * n3) : m.solve.basis.subarray((a - RIGID) * n3, (a - RIGID + 1) * n3));
    const H0 = this.H0;
    for (let a = 0; a < nf; a++) {
      for (let b = 0; b <= a; b++) {
        let s;
        if (a >= RIGID && b >= RIGID) s = m.solve.gram[(a - RIGID) * S + (b - RIGID)];
        else {
          const ca = col(a), cb = col(b);
          s = 0;
          for (let i = 0; i < n; i++) {
            if (w[i] === 0) continue;
            const o = i * 3;
            s += w[i] * (ax[0] * ca[o] * cb[o] + ax[1] * ca[o + 1] * cb[o + 1] + ax[2] * ca[o + 2] * cb[o + 2]);
          }
        }
        H0[a * nf + b] = s;
        H0[b * nf + a] = s;
      }
    }
    for (let a = 0; a < RIGID; a++) H0[a * nf + a] *= 1 + 1e-9;
    for (let c = 0; c < S; c++) H0[(RIGID + c) * nf + RIGID + c] += m.solve.reg[c];
    // opening priors (landmark_model.js gaps): lambda (value - target)^2 on the measured channel (an
    // eyeBlink, jawOpen) or the jaw; gD: how much each column opens the gap
    const jd = m.jaw ? this._jawSlope() : null;
    let djj0 = 0;
    if (jd) for (let i = 0; i < n; i++) djj0 += w[i] * (ax[0] * jd[i * 3] ** 2 + ax[1] * jd[i * 3 + 1] ** 2 + ax[2] * jd[i * 3 + 2] ** 2);
    this.gaps = [];
    for (const g of m.gaps) {
      const gD = new Float64Array(S);
      for (let c = 0; c < S; c++) gD[c] = this._gapOf(col(RIGID + c), g.rows);
      const own = g.col >= 0 ? gD[g.col] : jd ? this._gapOf(jd, g.rows) : 0;
      if (!(Math.abs(own) > 1e-6)) continue;
      const lambda = g.prior * (g.col >= 0 ? m.solve.gram[g.col * S + g.col] : djj0);
      if (g.col >= 0) H0[(RIGID + g.col) * nf + RIGID + g.col] += lambda;
      this.gaps.push({ rows: g.rows, col: g.col, eye: g.name !== 'mouth', gD, own, lambda });
    }
    this.L0.set(H0);
    if (!cholesky(this.L0, nf)) throw new Error('webcam solver: the landmark model is degenerate');
    this.x.fill(0);
  }

  /** Sum over the (upper, lower) row pairs of v[upper].y - v[lower].y (v: n*3 values). */
  _gapOf(v, rows) {
    let s = 0;
    for (let k = 0; k < rows.length; k += 2) s += v[rows[k] * 3 + 1] - v[rows[k + 1] * 3 + 1];
    return s;
  }

  /** The rig's gap over the row pairs at jaw angle theta with the current channel values: the jaw's
   * displacement plus the channels' displacement turned by the jaw's skinning (y of M_i(theta) E_i). */
  _mouthGap(theta, rows) {
    const m = this.model, n = m.n, S = this.S, B = m.solve.basis, wj = m.jaw.weight;
    const J = this._jawDisplacement(theta, this.Jg);
    const c = Math.cos(theta) - 1, s = Math.sin(theta);
    let gap = 0;
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k];
      let ey = 0, ez = 0;
      for (let e = 0; e < S; e++) {
        const v = this.x[RIGID + e];
        if (v !== 0) { ey += v * B[(e * n + i) * 3 + 1]; ez += v * B[(e * n + i) * 3 + 2]; }
      }
      const y = J[i * 3 + 1] + ey + wj[i] * (c * ey - s * ez);
      gap += k % 2 === 0 ? y : -y;
    }
    return gap;
  }

  /** dJ/dtheta at theta = 0 (the jaw's column at rest). */
  _jawSlope() {
    const n3 = this.model.n * 3, a = new Float64Array(n3), b = new Float64Array(n3);
    this._jawDisplacement(JAW_STEP, a);
    this._jawDisplacement(-JAW_STEP, b);
    for (let i = 0; i < n3; i++) a[i] = (a[i] - b[i]) / (2 * JAW_STEP);
    return a;
  }

  /** The jaw's exact displacement of every landmark at angle theta (pose correctives, then skinning). */
  _jawDisplacement(theta, out) {
    const jaw = this.model.jaw, n = this.model.n, rest = this.model.rest;
    const c = Math.cos(theta), s = Math.sin(theta), cm = c - 1;
    const corr = jaw.correctives;
    // pose feature vec(R - I), row-major, for a rotation about x: [0,0,0, 0,c-1,-s, 0,s,c-1]
    const f4 = cm, f5 = -s, f7 = s, f8 = cm;
    const cy = jaw.centre[1], cz = jaw.centre[2];
    for (let i = 0; i < n; i++) {
      let dx = 0, dy = 0, dz = 0;
      if (corr) {
        const o4 = (4 * n + i) * 3, o5 = (5 * n + i) * 3, o7 = (7 * n + i) * 3, o8 = (8 * n + i) * 3;
        dx = f4 * corr[o4] + f5 * corr[o5] + f7 * corr[o7] + f8 * corr[o8];
        dy = f4 * corr[o4 + 1] + f5 * corr[o5 + 1] + f7 * corr[o7 + 1] + f8 * corr[o8 + 1];
        dz = f4 * corr[o4 + 2] + f5 * corr[o5 + 2] + f7 * corr[o7 + 2] + f8 * corr[o8 + 2];
      }
      const w = jaw.weight[i];
      if (w !== 0) {
        const vy = rest[i * 3 + 1] + dy - cy, vz = rest[i * 3 + 2] + dz - cz;
        dy += w * (cm * vy - s * vz);
        dz += w * (s * vy + cm * vz);
      }
      out[i * 3] = dx; out[i * 3 + 1] = dy; out[i * 3 + 2] = dz;
    }
    return out;
  }

  /** M(theta)^-1 (d - J(theta)) per landmark, M_i = I + w_i (R_x(theta) - I): the displacement that the
   * expression channels must make before the jaw's skinning turns it. */
  _preJaw(theta, out) {
    const m = this.model, n = m.n, wj = m.jaw.weight, d = this.d;
    this._jawDisplacement(theta, out);
    const c = Math.cos(theta), s = Math.sin(theta);
    for (let i = 0; i < n; i++) {
      const o = i * 3;
      out[o] = d[o] - out[o];
      const ry = d[o + 1] - out[o + 1], rz = d[o + 2] - out[o + 2], w = wj[i];
      if (w === 0) { out[o + 1] = ry; out[o + 2] = rz; continue; }
      // inverse of [[1 + w(c-1), -w s], [w s, 1 + w(c-1)]] on (y, z)
      const p = 1 + w * (c - 1), r = w * s, det = p * p + r * r;
      out[o + 1] = (p * ry + r * rz) / det;
      out[o + 2] = (-r * ry + p * rz) / det;
    }
    return out;
  }

  /** One linear least-squares step for the displacement this.d: pose correction, channels, jaw. */
  _solveJoint() {
    const m = this.model, n = m.n, n3 = n * 3, S = this.S, nf = this.nf, nx = this.nx;
    const B = m.solve.basis, w = m.exprWeight, ax = m.axis, t = this.target, b = this.b, cvec = this.c;
    const jaw = m.jaw, th = jaw ? this.x[nf] : 0;
    if (jaw) {
      // in the rig's pre-skinning space: g(theta) = M(theta)^-1 (d - J(theta)) ~ e D + pose correction,
      // linearised: the jaw's column is -g'(theta0), the target g(theta0) - g'(theta0) theta0
      this._preJaw(th, this.J0);
      this._preJaw(th + JAW_STEP, this.Jp);
      this._preJaw(th - JAW_STEP, this.Jm);
      for (let i = 0; i < n3; i++) {
        const j = -(this.Jp[i] - this.Jm[i]) / (2 * JAW_STEP);
        this.jcol[i] = j;
        t[i] = this.J0[i] + j * th;
      }
    } else t.set(this.d);
    // right-hand sides: columns^T W t (and columns^T W j for the jaw), one pass over each column
    const jc = this.jcol;
    for (let a = 0; a < nf; a++) {
      const col = a < RIGID ? this.cols : B, o = a < RIGID ? a * n3 : (a - RIGID) * n3;
      let sb = 0, sc = 0;
      for (let i = 0; i < n; i++) {
        const wi = w[i];
        if (wi === 0) continue;
        const k = i * 3, ck = o + k;
        const c0 = ax[0] * wi * col[ck], c1 = ax[1] * wi * col[ck + 1], c2 = ax[2] * wi * col[ck + 2];
        sb += c0 * t[k] + c1 * t[k + 1] + c2 * t[k + 2];
        if (jaw) sc += c0 * jc[k] + c1 * jc[k + 1] + c2 * jc[k + 2];
      }
      b[a] = sb;
      cvec[a] = sc;
    }
    let djj = 0, bj = 0;
    if (jaw) {
      for (let i = 0; i < n; i++) {
        const wi = w[i];
        if (wi === 0) continue;
        const k = i * 3;
        djj += wi * (ax[0] * jc[k] * jc[k] + ax[1] * jc[k + 1] * jc[k + 1] + ax[2] * jc[k + 2] * jc[k + 2]);
        bj += wi * (ax[0] * jc[k] * t[k] + ax[1] * jc[k + 1] * t[k + 1] + ax[2] * jc[k + 2] * t[k + 2]);
      }
      djj = djj * (1 + 1e-9) + 1e-14;
    }
    // opening priors: the target is the opening the user shows, less what the jaw opens (and, for the
    // mouth, the other solved channels: values of the last round), over what the measured one opens per unit.
    // (The eyes' targets ignore the other channels: measured, subtracting eyeWide/squint brought back the
    // blink's false positives during head turns and jaw motion.)
    if (this.gaps.length) {
      const Jg = jaw ? this._jawDisplacement(th, this.Jg) : null;
      for (const g of this.gaps) {
        let rest = this._gapOf(this.d, g.rows);
        if (g.col >= 0 && !g.eye) for (let c = 0; c < S; c++) if (c !== g.col) rest -= this.x[RIGID + c] * g.gD[c];
        if (g.col >= 0) {
          if (Jg) rest -= this._gapOf(Jg, g.rows);
          const target = Math.max(this.lo[RIGID + g.col], Math.min(this.hi[RIGID + g.col], rest / g.own));
          b[RIGID + g.col] += g.lambda * target;
        } else if (jaw) {
          // the angle at which the rig's lips, opened by the jaw and the other channels' displacement E
          // (turned by the jaw's skinning), part as far as the user's: one Newton step from theta0
          const f = (theta) => this._mouthGap(theta, g.rows);
          const f0 = f(th), slope = (f(th + 1e-3) - f(th - 1e-3)) / 2e-3;
          const target = Math.max(jaw.lo, Math.min(jaw.hi, Math.abs(slope) > 1e-6 ? th + (this._gapOf(this.d, g.rows) - f0) / slope : th));
          djj += g.lambda;
          bj += g.lambda * target;
        }
      }
    }
    // unconstrained solution by block elimination of the jaw (the fixed block's factor is precomputed)
    const y1 = this.y1, y2 = this.y2, x = this.x;
    y1.set(b.subarray(0, nf));
    choleskySolve(this.L0, nf, y1);
    let theta = 0;
    if (jaw) {
      y2.set(cvec);
      choleskySolve(this.L0, nf, y2);
      let num = bj, den = djj;
      for (let a = 0; a < nf; a++) { num -= cvec[a] * y1[a]; den -= cvec[a] * y2[a]; }
      theta = den > 1e-20 ? num / den : th;
      theta = Math.max(jaw.lo, Math.min(jaw.hi, theta));   // the problem is convex in theta: clamping is exact
    }
    let inside = true;
    for (let a = 0; a < nf; a++) {
      const v = y1[a] - theta * (jaw ? y2[a] : 0);
      x[a] = v;
      if (v < this.lo[a] || v > this.hi[a]) inside = false;
    }
    if (jaw) x[nf] = theta;
    if (inside) return;
    // a bound is active: the full box-constrained problem (active set), warm values ignored
    const H = this.H;
    for (let a = 0; a < nf; a++) {
      for (let c = 0; c < nf; c++) H[a * nx + c] = this.H0[a * nf + c];
      if (jaw) { H[a * nx + nf] = cvec[a]; H[nf * nx + a] = cvec[a]; }
    }
    if (jaw) { H[nf * nx + nf] = djj; b[nf] = bj; }
    boxQP(H, b, this.lo, this.hi, nx, x, this.work);
  }

  /** Compose the solved pose correction (x[0..7]) into the similarity: sim <- sim o G, where
   * G(y) = (1 + ds) R_w (y - c) + c + dt. */
  _correctPose() {
    const sim = this.sim, x = this.x, c = this.centroid;
    const Rw = axisAngleToMatrix(x[0], x[1], x[2], this.m3);
    const R2 = mul3(sim.R, Rw, this.m3b);
    const s2 = sim.s * (1 + x[3]);
    // t' = s R (c + dt) + t - s' R' c
    const R = sim.R;
    const ux = c[0] + x[4], uy = c[1] + x[5], uz = c[2] + x[6];
    for (let i = 0; i < 3; i++) {
      sim.t[i] += sim.s * (R[i * 3] * ux + R[i * 3 + 1] * uy + R[i * 3 + 2] * uz)
        - s2 * (R2[i * 3] * c[0] + R2[i * 3 + 1] * c[1] + R2[i * 3 + 2] * c[2]);
    }
    sim.R.set(R2);
    sim.s = s2;
    x.fill(0, 0, RIGID);
  }

  /** Landmark channels: u_i = M_i^-1 (d_i - J_i(theta)) - sum_c e_c D_ci, M_i = I + w_i (R_x(theta) - I). */
  _copyResidual(st) {
    const m = this.model, cp = m.copy, C = cp.channels.length;
    if (!C) return;
    const n = m.n, S = this.S, B = m.solve.basis;
    const g = m.jaw ? this._preJaw(this.x[this.nf], this.J0) : this.d;
    for (let k = 0; k < C; k++) {
      const i = cp.row[k], a = cp.axis[k];
      let v = g[i * 3 + a];
      for (let e = 0; e < S; e++) v -= this.x[RIGID + e] * B[(e * n + i) * 3 + a];
      st[6 + S + k] = v / cp.gain[k];
    }
  }

  /** Gaze (pitch, yaw) from the iris centres' displacement relative to the eye corners, both eyes averaged. */
  _gaze(st) {
    const eyes = this.model.eyes;
    if (!eyes) return;
    const p = this.p, ref = this.neutral;
    let dx = 0, dy = 0;
    for (let e = 0; e < 2; e++) {
      const r = eyes.iris[e], [c0, c1] = eyes.corners[e];
      dx += (p[r * 3] - ref[r * 3]) - 0.5 * ((p[c0 * 3] - ref[c0 * 3]) + (p[c1 * 3] - ref[c1 * 3]));
      dy += (p[r * 3 + 1] - ref[r * 3 + 1]) - 0.5 * ((p[c0 * 3 + 1] - ref[c0 * 3 + 1]) + (p[c1 * 3 + 1] - ref[c1 * 3 + 1]));
    }
    const lim = Math.sin(this.options.maxGaze);
    const sx = Math.max(-lim, Math.min(lim, dx / 2 / eyes.radius));
    const sy = Math.max(-lim, Math.min(lim, dy / 2 / eyes.radius));
    st[4] = -Math.asin(sy);   // rotation about x: positive looks down
    st[5] = Math.asin(sx);    // rotation about y: positive looks towards +x (the subject's left)
  }

  _collect(timeMs) {
    const cal = this.calibration;
    cal.frames.push(Float64Array.from(this.p));
    cal.quats.push(matrixToQuaternion(this.sim.R, 0, new Float64Array(4)));
    cal.first ??= timeMs;
    cal.last = timeMs;
    if (cal.last - cal.first >= this.options.calibrationMs && cal.frames.length >= this.options.calibrationMinFrames) {
      this._finishCalibration();
    }
  }

  _finishCalibration() {
    const cal = this.calibration, n3 = this.model.n * 3, f = cal.frames.length;
    const neutral = new Float64Array(n3), col = new Float64Array(f);
    for (let i = 0; i < n3; i++) {
      for (let k = 0; k < f; k++) col[k] = cal.frames[k][i];
      col.sort();
      neutral[i] = f % 2 ? col[(f - 1) / 2] : 0.5 * (col[f / 2 - 1] + col[f / 2]);
    }
    // the mean rotation (quaternions in one hemisphere, averaged, normalised)
    const q0 = cal.quats[0], qm = [0, 0, 0, 0];
    for (const qq of cal.quats) {
      const sgn = qq[0] * q0[0] + qq[1] * q0[1] + qq[2] * q0[2] + qq[3] * q0[3] < 0 ? -1 : 1;
      for (let k = 0; k < 4; k++) qm[k] += sgn * qq[k];
    }
    const len = Math.hypot(...qm);
    const rot = quaternionToMatrix(qm[0] / len, qm[1] / len, qm[2] / len, qm[3] / len, new Float64Array(9));
    this.calibration = null;
    this.setNeutral(neutral, rot);
    this.filter.reset();
  }

  _writeParams(st) {
    const m = this.model, P = this.params;
    P.expr.fill(0); P.pose.fill(0); P.translation.fill(0);
    if (m.head >= 0) { P.pose[m.head * 3] = st[0]; P.pose[m.head * 3 + 1] = st[1]; P.pose[m.head * 3 + 2] = st[2]; }
    if (m.jaw) P.pose[m.jaw.joint * 3] = st[3];
    if (m.eyes) {
      for (const j of m.eyes.joints) { P.pose[j * 3] = st[4]; P.pose[j * 3 + 1] = st[5]; }
    }
    const S = this.S;
    for (let c = 0; c < S; c++) P.expr[m.solve.channels[c]] = st[6 + c];
    const cp = m.copy;
    for (let k = 0; k < cp.channels.length; k++) P.expr[cp.channels[k]] = st[6 + S + k];
  }
}
