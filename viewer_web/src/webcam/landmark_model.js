// What the webcam solver knows about an avatar: where MediaPipe's landmarks sit on its base mesh (the
// .lam's `lmks` chunk: triangle + barycentric coordinates), and how its expression channels, its jaw and
// its eyes move them. Derived once from the avatar structure (README.md), nothing per frame.
//
// Channels fall into three groups:
//   solve:  channels found by least squares (FLAME's expr_NN, ARKit names bounded to 0..1, any other
//           channel that moves a landmark), as dense landmark displacement columns D_k (L x 3);
//   copy:   landmark channels lmk_NNN_x|y|z (the open head): the part of the observed displacement that the
//           solved channels and the jaw do not explain is copied into them (exact retargeting);
//   none:   channels that move no landmark, ARKit gaze/tongue channels (gaze drives the eye joints).
// The jaw joint is solved as a rotation about x when its skinning weights move the face's landmarks; the
// rig's `jawOpen` channel is then left out (it would explain the same motion twice).

import { ViewerError } from '../errors.js';

export const N_MEDIAPIPE = 478;
export const N_FACE = 468;
export const IRIS_RIGHT = 468;   // the subject's right eye (landmarks 33..133), joint eye_r
export const IRIS_LEFT = 473;    // the subject's left eye (landmarks 263..362), joint eye_l
export const EYE_CORNERS_RIGHT = [33, 133];
export const EYE_CORNERS_LEFT = [263, 362];
export const DEFAULT_EYE_RADIUS = 0.012;
// the face's outline (MediaPipe's FACEMESH_FACE_OVAL): silhouette estimates that follow the jaw and the
// cheeks poorly, so they count less in the expression solve
// eyelid pairs (upper, lower) across the middle of each eye (lam_core/open_head/landmarks.py)
export const LID_PAIRS_RIGHT = Object.freeze([[160, 144], [159, 145], [158, 153]]);
export const LID_PAIRS_LEFT = Object.freeze([[387, 373], [386, 374], [385, 380]]);
// inner-lip pairs (upper, lower) across the mouth: their gap measures how far the mouth is open
export const LIP_PAIRS = Object.freeze([[13, 14], [82, 87], [312, 317], [81, 178], [311, 402]]);
export const FACE_OVAL = Object.freeze([10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
  400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]);

export const ARKIT_NAMES = Object.freeze([
  'eyeBlinkLeft', 'eyeLookDownLeft', 'eyeLookInLeft', 'eyeLookOutLeft', 'eyeLookUpLeft', 'eyeSquintLeft',
  'eyeWideLeft', 'eyeBlinkRight', 'eyeLookDownRight', 'eyeLookInRight', 'eyeLookOutRight', 'eyeLookUpRight',
  'eyeSquintRight', 'eyeWideRight', 'jawForward', 'jawLeft', 'jawRight', 'jawOpen', 'mouthClose', 'mouthFunnel',
  'mouthPucker', 'mouthLeft', 'mouthRight', 'mouthSmileLeft', 'mouthSmileRight', 'mouthFrownLeft',
  'mouthFrownRight', 'mouthDimpleLeft', 'mouthDimpleRight', 'mouthStretchLeft', 'mouthStretchRight',
  'mouthRollLower', 'mouthRollUpper', 'mouthShrugLower', 'mouthShrugUpper', 'mouthPressLeft', 'mouthPressRight',
  'mouthLowerDownLeft', 'mouthLowerDownRight', 'mouthUpperUpLeft', 'mouthUpperUpRight', 'browDownLeft',
  'browDownRight', 'browInnerUp', 'browOuterUpLeft', 'browOuterUpRight', 'cheekPuff', 'cheekSquintLeft',
  'cheekSquintRight', 'noseSneerLeft', 'noseSneerRight', 'tongueOut',
]);
const ARKIT = new Set(ARKIT_NAMES);
const UNSOLVED_ARKIT = /^(eyeLook|tongueOut$)/;     // gaze comes from the iris; the tongue is not tracked
const LANDMARK_CHANNEL = /^lmk_(\d{3})_([xyz])$/;

/** Options of buildLandmarkModel (all optional). */
export const MODEL_DEFAULTS = Object.freeze({
  zWeight: 0.5,          // MediaPipe's relative depth is noisier than x, y
  contourWeight: 0.2,    // the face outline's landmarks in the expression solve (the others count 1)
  blinkPrior: 4,         // weight of each eye's opening (lid gap), relative to its blink channel's own data
  jawPrior: 3,           // weight of the mouth's opening (inner-lip gap), relative to the jaw's own data
  regularisation: 5e-4,  // ridge on the solved channels, relative to each channel's own data term
  rigidScale: 0.0015,    // metres: landmarks that the rig moves by this much count half in the head pose
  jawRange: [0, 0.6],    // radians: the calibrated neutral has the mouth closed
  freeRange: 5,          // |value| bound of unbounded (non-ARKit) channels
});

/** Landmark positions (rows of a triangle + barycentric embedding) on base vertices `v` (V*3). */
export function landmarkPositions(lm, v, out = new Float64Array(lm.ids.length * 3)) {
  const n = lm.ids.length;
  for (let i = 0; i < n; i++) {
    let x = 0, y = 0, z = 0;
    for (let c = 0; c < 3; c++) {
      const b = lm.bary[i * 3 + c], o = lm.vertex[i * 3 + c] * 3;
      x += b * v[o]; y += b * v[o + 1]; z += b * v[o + 2];
    }
    out[i * 3] = x; out[i * 3 + 1] = y; out[i * 3 + 2] = z;
  }
  return out;
}

/** Displacements of the landmarks (rows) per channel of a sparse basis: calls fn(k, row, dx, dy, dz)
 * for every non-zero contribution. */
function basisAtLandmarks(basis, lm, nVertices, fn) {
  const n = lm.ids.length;
  // vertex -> list of (row, barycentric weight), as linked lists in typed arrays
  const head = new Int32Array(nVertices).fill(-1);
  const next = new Int32Array(n * 3), row = new Int32Array(n * 3), wt = new Float64Array(n * 3);
  for (let e = 0; e < n * 3; e++) {
    const v = lm.vertex[e];
    row[e] = (e / 3) | 0; wt[e] = lm.bary[e];
    next[e] = head[v]; head[v] = e;
  }
  const { ptr, index, delta, scale } = basis;
  for (let k = 0; k < basis.count; k++) {
    const s = scale ? scale[k] : 1;
    for (let e = ptr[k]; e < ptr[k + 1]; e++) {
      for (let h = head[index[e]]; h >= 0; h = next[h]) {
        const w = wt[h] * s;
        if (w !== 0) fn(k, row[h], w * delta[e * 3], w * delta[e * 3 + 1], w * delta[e * 3 + 2]);
      }
    }
  }
}

function skinWeightOf(avatar, v, joint) {
  const k = avatar.skinK;
  let w = 0;
  for (let s = 0; s < k; s++) if (avatar.skinIndex[v * k + s] === joint) w += avatar.skinWeight[v * k + s];
  return w;
}

/**
 * Build the solver's view of an avatar (see the module comment). Throws ViewerError when the avatar has no
 * landmark embedding (webcam driving needs one) or too few face landmarks.
 */
export function buildLandmarkModel(avatar, options = {}) {
  const opt = { ...MODEL_DEFAULTS, ...options };
  const lm = avatar.landmarks;
  if (!lm || !lm.ids || lm.ids.length === 0) {
    throw new ViewerError('this avatar carries no face-landmark embedding (.lam chunk lmks), so a webcam cannot drive it');
  }
  const n = lm.ids.length, nv = avatar.nVertices, K = avatar.exprNames.length;
  const rowOf = new Int32Array(N_MEDIAPIPE).fill(-1);
  for (let i = 0; i < n; i++) if (lm.ids[i] < N_MEDIAPIPE && rowOf[lm.ids[i]] < 0) rowOf[lm.ids[i]] = i;
  let nFace = 0;
  for (let i = 0; i < n; i++) if (lm.ids[i] < N_FACE) nFace++;
  if (nFace < 20) throw new ViewerError(`this avatar embeds only ${nFace} face landmarks: too few to drive it from a webcam`);
  const rest = landmarkPositions(lm, avatar.vertices);
  const exprWeight = new Float64Array(n);
  for (let i = 0; i < n; i++) exprWeight[i] = lm.ids[i] < N_FACE && rowOf[lm.ids[i]] === i ? 1 : 0;
  for (const id of FACE_OVAL) if (rowOf[id] >= 0) exprWeight[rowOf[id]] *= opt.contourWeight;
  const axis = [1, 1, opt.zWeight];

  // --- per-channel displacement at the landmarks: norms first (to choose), then dense columns
  const norm2 = new Float64Array(K);
  basisAtLandmarks(avatar.expr, lm, nv, (k, r, dx, dy, dz) => {
    if (exprWeight[r] > 0) norm2[k] += dx * dx + dy * dy + dz * dz;
  });
  const names = avatar.exprNames;
  const jawJoint = avatar.jointNames.indexOf('jaw');
  const jawWeight = new Float64Array(n);
  if (jawJoint > 0) {
    for (let i = 0; i < n; i++) {
      let w = 0;
      for (let c = 0; c < 3; c++) w += lm.bary[i * 3 + c] * skinWeightOf(avatar, lm.vertex[i * 3 + c], jawJoint);
      jawWeight[i] = w;
    }
  }
  let maxJaw = 0;
  for (let i = 0; i < n; i++) if (exprWeight[i] > 0) maxJaw = Math.max(maxJaw, jawWeight[i]);
  const solveJaw = maxJaw > 0.05;

  const copyList = [], solveList = [], unused = [];
  for (let k = 0; k < K; k++) {
    const m = LANDMARK_CHANNEL.exec(names[k]);
    if (m) {
      const r = rowOf[+m[1]];
      if (r >= 0) { copyList.push({ k, row: r, axis: 'xyz'.indexOf(m[2]) }); continue; }
    }
    if (!(norm2[k] > 1e-18) || (ARKIT.has(names[k]) && UNSOLVED_ARKIT.test(names[k])) || (solveJaw && names[k] === 'jawOpen')) {
      unused.push(names[k]);
      continue;
    }
    solveList.push(k);
  }
  const S = solveList.length;
  const colOf = new Int32Array(K).fill(-1);
  solveList.forEach((k, c) => { colOf[k] = c; });
  const copyCol = new Int32Array(K).fill(-1);
  copyList.forEach((c, i) => { copyCol[c.k] = i; });
  const basis = new Float64Array(S * n * 3);
  const copyGain = new Float64Array(copyList.length);
  basisAtLandmarks(avatar.expr, lm, nv, (k, r, dx, dy, dz) => {
    const c = colOf[k];
    if (c >= 0) {
      const o = (c * n + r) * 3;
      basis[o] += dx; basis[o + 1] += dy; basis[o + 2] += dz;
    } else if (copyCol[k] >= 0) {
      const cc = copyList[copyCol[k]];
      if (r === cc.row) copyGain[copyCol[k]] += cc.axis === 0 ? dx : cc.axis === 1 ? dy : dz;
    }
  });
  // a landmark channel that does not move its own landmark along its axis is not copied
  const copy = copyList.filter((c, i) => Math.abs(copyGain[i]) > 1e-9);
  const gains = copyGain.filter((g) => Math.abs(g) > 1e-9);
  for (let i = 0; i < copyList.length; i++) if (!(Math.abs(copyGain[i]) > 1e-9)) unused.push(names[copyList[i].k]);

  const lo = new Float64Array(S), hi = new Float64Array(S), range = new Float64Array(S);
  solveList.forEach((k, c) => {
    const bounded = ARKIT.has(names[k]);
    lo[c] = bounded ? 0 : -opt.freeRange;
    hi[c] = bounded ? 1 : opt.freeRange;
    range[c] = bounded ? 1 : 1.5;
  });

  // --- Gram matrix of the solved columns (row weights x axis weights), ridge on its diagonal
  const gram = new Float64Array(S * S);
  for (let a = 0; a < S; a++) {
    for (let b = 0; b <= a; b++) {
      let s = 0;
      const oa = a * n * 3, ob = b * n * 3;
      for (let i = 0; i < n; i++) {
        const w = exprWeight[i];
        if (w === 0) continue;
        const o = i * 3;
        s += w * (axis[0] * basis[oa + o] * basis[ob + o] + axis[1] * basis[oa + o + 1] * basis[ob + o + 1]
          + axis[2] * basis[oa + o + 2] * basis[ob + o + 2]);
      }
      gram[a * S + b] = s;
      gram[b * S + a] = s;
    }
  }
  const reg = new Float64Array(S);
  for (let a = 0; a < S; a++) reg[a] = opt.regularisation * gram[a * S + a] + 1e-14;

  // --- the jaw: rotation about x around its joint, pose correctives of its 9 features
  let jaw = null;
  if (solveJaw) {
    const centre = Float64Array.from(avatar.jointRest.subarray(jawJoint * 3, jawJoint * 3 + 3));
    let correctives = null;
    const first = (jawJoint - 1) * 9;
    const sub = { count: 9, ptr: avatar.pose.ptr.subarray(first, first + 10), index: avatar.pose.index,
      delta: avatar.pose.delta, scale: avatar.pose.scale ? avatar.pose.scale.subarray(first, first + 9) : null };
    basisAtLandmarks(sub, lm, nv, (k, r, dx, dy, dz) => {
      correctives ??= new Float64Array(9 * n * 3);
      const o = (k * n + r) * 3;
      correctives[o] += dx; correctives[o + 1] += dy; correctives[o + 2] += dz;
    });
    jaw = { joint: jawJoint, centre, weight: jawWeight, correctives, lo: opt.jawRange[0], hi: opt.jawRange[1] };
  }

  // --- eyes: gaze from the iris centres, relative to the eye corners
  let eyes = null;
  const eyeL = avatar.jointNames.indexOf('eye_l'), eyeR = avatar.jointNames.indexOf('eye_r');
  const irisRows = [rowOf[IRIS_LEFT], rowOf[IRIS_RIGHT]];
  const corners = [EYE_CORNERS_LEFT.map((i) => rowOf[i]), EYE_CORNERS_RIGHT.map((i) => rowOf[i])];
  if (eyeL > 0 && eyeR > 0 && irisRows.every((r) => r >= 0) && corners.flat().every((r) => r >= 0)) {
    let radius = 0, count = 0;
    [[eyeL, irisRows[0]], [eyeR, irisRows[1]]].forEach(([j, r]) => {
      const d = Math.hypot(rest[r * 3] - avatar.jointRest[j * 3], rest[r * 3 + 1] - avatar.jointRest[j * 3 + 1],
        rest[r * 3 + 2] - avatar.jointRest[j * 3 + 2]);
      if (d > 0.005 && d < 0.025) { radius += d; count++; }
    });
    eyes = { joints: [eyeL, eyeR], iris: irisRows, corners, radius: count ? radius / count : DEFAULT_EYE_RADIUS };
  }

  // --- gap measures: the vertical opening of the eyes (upper - lower lid, summed over pairs across each
  // eye) and of the mouth (inner lips). MediaPipe follows these openings better than the landmarks' motion
  // around them (head turns and its depth estimate blur the lids; the chin lags the lips), so the solver
  // counts each opening once more as an equation of its own, weighted like the channel it measures.
  const gaps = [];
  const pairsOf = (pairs) => pairs.map(([u, l]) => [rowOf[u], rowOf[l]]);
  for (const [name, pairs] of [['eyeBlinkLeft', LID_PAIRS_LEFT], ['eyeBlinkRight', LID_PAIRS_RIGHT]]) {
    const k = names.indexOf(name), rows = pairsOf(pairs);
    if (k >= 0 && colOf[k] >= 0 && rows.every(([u, l]) => u >= 0 && l >= 0)) {
      gaps.push({ name, rows: Int32Array.from(rows.flat()), col: colOf[k], prior: opt.blinkPrior });
    }
  }
  const lips = pairsOf(LIP_PAIRS);
  const jawOpenCol = names.indexOf('jawOpen') >= 0 ? colOf[names.indexOf('jawOpen')] : -1;
  if (lips.every(([u, l]) => u >= 0 && l >= 0) && (solveJaw || jawOpenCol >= 0)) {
    gaps.push({ name: 'mouth', rows: Int32Array.from(lips.flat()), col: solveJaw ? -1 : jawOpenCol, prior: opt.jawPrior });
  }

  // --- head-pose weights: landmarks the rig cannot move count fully, mobile ones less
  const rigid = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (exprWeight[i] === 0) continue;
    let m2 = 0;
    for (let c = 0; c < S; c++) {
      const o = (c * n + i) * 3;
      m2 += range[c] * range[c] * (basis[o] ** 2 + basis[o + 1] ** 2 + basis[o + 2] ** 2);
    }
    if (jaw) {
      const dy = rest[i * 3 + 1] - jaw.centre[1], dz = rest[i * 3 + 2] - jaw.centre[2];
      m2 += (0.35 * jawWeight[i]) ** 2 * (dy * dy + dz * dz);
    }
    rigid[i] = 1 / (1 + m2 / (opt.rigidScale * opt.rigidScale));
  }

  const kind = copy.length ? 'landmark channels' : S && solveList.every((k) => ARKIT.has(names[k])) ? 'ARKit'
    : S && solveList.every((k) => /^expr_\d+$/.test(names[k])) ? 'FLAME' : S ? 'named channels' : 'joints only';
  return {
    n, ids: Int32Array.from(lm.ids), rowOf, rest, exprWeight, rigid, axis,
    nExpr: K, nJoints: avatar.parents.length, exprNames: names, jointNames: avatar.jointNames,
    head: avatar.jointNames.indexOf('global'),
    solve: { channels: Int32Array.from(solveList), lo, hi, basis, gram, reg },
    copy: { channels: Int32Array.from(copy.map((c) => c.k)), row: Int32Array.from(copy.map((c) => c.row)),
      axis: Int32Array.from(copy.map((c) => c.axis)), gain: Float64Array.from(gains) },
    jaw, eyes, gaps, kind, unused,
  };
}
