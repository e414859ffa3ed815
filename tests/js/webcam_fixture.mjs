// Synthetic face rigs for the webcam solver's tests and benchmark: one vertex per MediaPipe landmark on an
// ellipsoidal "face", FLAME's 5 joints, and one of three expression spaces:
//   'flame'     expr_00.. (dense random smooth fields, unbounded), jaw joint with pose correctives;
//   'arkit'     ARKit-named patterns (bounded 0..1), jaw through the jawOpen channel (no jaw skinning);
//   'landmarks' the open head's layout: lmk_NNN_x|y|z channels + a few ARKit patterns, jaw joint.
// observe() poses the rig with the viewer's own Deformer (exact LBS) and films it with a weak-perspective
// camera, giving MediaPipe-style normalised landmarks.

import { checkAvatar } from '../../viewer_web/src/avatar.js';
import { Deformer, zeroParams } from '../../viewer_web/src/deform.js';
import { axisAngleToMatrix } from '../../viewer_web/src/kinematics.js';
import { mulberry32 } from '../../viewer_web/src/idle.js';
import { FLAME_JOINTS } from '../../viewer_web/src/joints.js';

export const JOINTS = FLAME_JOINTS;
const JOINT_REST = [0, -0.12, -0.05, 0, -0.08, -0.05, 0, -0.035, -0.01, 0.032, 0.03, 0.055, -0.032, 0.03, 0.055];
const EYE_RADIUS = 0.012;

export const rng = mulberry32;

const surface = (x, y) => 0.09 * Math.sqrt(Math.max(0.05, 1 - (x / 0.085) ** 2 - (y / 0.125) ** 2));
const on = (x, y) => [x, y, surface(x, y)];

/** 478 landmark positions: a face-like cloud with the ids the solver relies on where they belong. */
export function facePoints(seed = 1) {
  const r = rng(seed), p = new Float64Array(478 * 3);
  const put = (i, x, y, z = surface(x, y)) => { p[i * 3] = x; p[i * 3 + 1] = y; p[i * 3 + 2] = z; };
  for (let i = 0; i < 468; i++) put(i, (r() * 2 - 1) * 0.07, -0.11 + r() * 0.19);
  // MediaPipe is dense around the eyes and the lips: their contours (lam_core/open_head/landmarks.py)
  // (chains run outer -> inner corner for the eyes, right -> left for the lips; the subject's right is -x)
  const contour = (upper, lower, cx, cy, rx, ry, dir) => {
    const x = (k, n) => cx + dir * rx * Math.cos((Math.PI * k) / (n - 1));
    upper.forEach((id, k) => put(id, x(k, upper.length), cy + ry * Math.sin((Math.PI * k) / (upper.length - 1))));
    lower.forEach((id, k) => put(id, x(k, lower.length), cy - ry * Math.sin((Math.PI * k) / (lower.length - 1))));
  };
  contour([33, 246, 161, 160, 159, 158, 157, 173, 133], [33, 7, 163, 144, 145, 153, 154, 155, 133], -0.032, 0.03, 0.016, 0.005, -1);
  contour([263, 466, 388, 387, 386, 385, 384, 398, 362], [263, 249, 390, 373, 374, 380, 381, 382, 362], 0.032, 0.03, 0.016, 0.005, 1);
  contour([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291], [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291], 0, -0.048, 0.025, 0.008, -1);
  contour([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308], [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308], 0, -0.048, 0.02, 0.003, -1);
  put(152, 0, -0.1); put(1, 0, 0.0, 0.1);
  for (const [base, eye] of [[468, 4], [473, 3]]) {
    const ex = JOINT_REST[eye * 3], ey = JOINT_REST[eye * 3 + 1], ez = JOINT_REST[eye * 3 + 2] + EYE_RADIUS;
    put(base, ex, ey, ez);
    [[1, 0], [0, 1], [-1, 0], [0, -1]].forEach(([dx, dy], k) => put(base + 1 + k, ex + 0.005 * dx, ey + 0.005 * dy, ez - 0.001));
  }
  return p;
}

function bump(points, centre, dir, radius, amp) {
  const out = new Float64Array(478 * 3);
  for (let i = 0; i < 468; i++) {
    const d2 = (points[i * 3] - centre[0]) ** 2 + (points[i * 3 + 1] - centre[1]) ** 2 + (points[i * 3 + 2] - centre[2]) ** 2;
    const w = amp * Math.exp(-0.5 * d2 / (radius * radius));
    if (w < 1e-6 * amp) continue;
    out[i * 3] = w * dir[0]; out[i * 3 + 1] = w * dir[1]; out[i * 3 + 2] = w * dir[2];
  }
  return out;
}

/** A blink: the upper lid comes down to meet the lower lid (which rises a little). */
function lidClose(p, upper, lower) {
  const out = new Float64Array(478 * 3);
  upper.forEach((u, k) => {
    const l = lower[k], gap = p[l * 3 + 1] - p[u * 3 + 1];
    out[u * 3 + 1] = 0.8 * gap;
    out[l * 3 + 1] = -0.15 * gap;
  });
  return out;
}

/** ARKit-like patterns on the face cloud (displacement at coefficient 1, metres). */
function arkitPatterns(p, withJawOpen) {
  const at = (i) => [p[i * 3], p[i * 3 + 1], p[i * 3 + 2]];
  const pats = {
    eyeBlinkLeft: lidClose(p, [466, 388, 387, 386, 385, 384, 398], [249, 390, 373, 374, 380, 381, 382]),
    eyeBlinkRight: lidClose(p, [246, 161, 160, 159, 158, 157, 173], [7, 163, 144, 145, 153, 154, 155]),
    mouthSmileLeft: bump(p, on(0.025, -0.048), [0.5, 0.6, -0.2], 0.012, 0.006),
    mouthSmileRight: bump(p, on(-0.025, -0.048), [-0.5, 0.6, -0.2], 0.012, 0.006),
    browInnerUp: bump(p, on(0, 0.05), [0, 1, 0], 0.015, 0.005),
    mouthPucker: bump(p, on(0, -0.048), [0, 0, 1], 0.012, 0.006),
    cheekSquintLeft: bump(p, on(0.04, 0.0), [0, 1, 0.3], 0.012, 0.004),
  };
  if (withJawOpen) {
    const chin = at(152), jaw = new Float64Array(478 * 3);
    for (let i = 0; i < 468; i++) {
      const w = Math.min(1, Math.max(0, (-0.04 - p[i * 3 + 1]) / 0.02));
      jaw[i * 3 + 1] = -0.012 * w; jaw[i * 3 + 2] = -0.004 * w;
    }
    void chin;
    pats.jawOpen = jaw;
  }
  return pats;
}

function sparseBasis(columns) {
  // columns: array of Float64Array(478*3) -> sparse channel-major basis over 478 vertices
  const ptr = new Uint32Array(columns.length + 1), index = [], delta = [];
  columns.forEach((col, k) => {
    for (let v = 0; v < 478; v++) {
      const x = col[v * 3], y = col[v * 3 + 1], z = col[v * 3 + 2];
      if (x !== 0 || y !== 0 || z !== 0) { index.push(v); delta.push(x, y, z); }
    }
    ptr[k + 1] = index.length;
  });
  return { count: columns.length, ptr, index: Uint32Array.from(index), delta: Float32Array.from(delta), scale: null };
}

function mobile(p, i) {
  const x = p[i * 3], y = p[i * 3 + 1];
  return y < -0.025 || (Math.abs(y - 0.035) < 0.02 && Math.abs(x) > 0.015 && Math.abs(x) < 0.055);
}

/** A synthetic avatar structure of the given kind (see the module comment). */
export function faceRig(kind, { seed = 1, nFlame = 100 } = {}) {
  const p = facePoints(seed), r = rng(seed + 7);
  const names = [], cols = [];
  let jawSkin = true, correctives = false;
  if (kind === 'flame') {
    for (let k = 0; k < nFlame; k++) {
      let col = new Float64Array(478 * 3);
      for (let b = 0; b < 3; b++) {
        // centred where faces move: mouth, cheeks, chin, eyes and brows (the nose bridge, forehead and
        // temples stay rigid, as on a real face)
        let c;
        do c = Math.floor(r() * 468); while (!mobile(p, c));
        const dir = [r() - 0.5, r() - 0.5, r() - 0.5];
        const f = bump(p, [p[c * 3], p[c * 3 + 1], p[c * 3 + 2]], dir, 0.01 + 0.02 * r(), 0.003);
        for (let i = 0; i < col.length; i++) col[i] += f[i];
      }
      names.push(`expr_${String(k).padStart(2, '0')}`);
      cols.push(col);
    }
    correctives = true;
  } else if (kind === 'arkit') {
    for (const [n, c] of Object.entries(arkitPatterns(p, true))) { names.push(n); cols.push(c); }
    jawSkin = false;
  } else if (kind === 'landmarks') {
    for (let i = 0; i < 468; i++) {
      for (let a = 0; a < 3; a++) {
        const col = new Float64Array(478 * 3);
        col[i * 3 + a] = 1;
        names.push(`lmk_${String(i).padStart(3, '0')}_${'xyz'[a]}`);
        cols.push(col);
      }
    }
    for (const [n, c] of Object.entries(arkitPatterns(p, true))) { names.push(n); cols.push(c); }
  } else throw new Error(`unknown rig kind ${kind}`);

  const skinIndex = new Uint8Array(478 * 2), skinWeight = new Float32Array(478 * 2);
  for (let v = 0; v < 478; v++) {
    let j = 0, w = 1;
    if (v >= 473) j = 3;
    else if (v >= 468) j = 4;
    else if (jawSkin) w = 1 - Math.min(1, Math.max(0, (-0.04 - p[v * 3 + 1]) / 0.02));
    skinIndex[v * 2] = j; skinWeight[v * 2] = w;
    skinIndex[v * 2 + 1] = 2; skinWeight[v * 2 + 1] = 1 - w;
  }
  const poseCols = [];
  for (let k = 0; k < 36; k++) {
    const col = new Float64Array(478 * 3);
    if (correctives && k >= 9 && k < 18) {
      const f = bump(p, [0, -0.06, 0.07], [r() - 0.5, r() - 0.5, r() - 0.5], 0.02, 0.004);
      col.set(f);
    }
    poseCols.push(col);
  }
  const n = 478;
  const ids = new Uint32Array(478), vertex = new Uint32Array(478 * 3), bary = new Float32Array(478 * 3);
  for (let i = 0; i < 478; i++) { ids[i] = i; vertex.fill(i, i * 3, i * 3 + 3); bary[i * 3] = 1; }
  const rotations = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) rotations[i * 4] = 1;
  return checkAvatar({
    n, nVertices: 478, exprNames: names, jointNames: JOINTS, parents: Int32Array.from([-1, 0, 1, 1, 1]),
    jointRest: Float32Array.from(JOINT_REST), jointExpr: new Float32Array(names.length * 15),
    vertices: Float32Array.from(p), expr: sparseBasis(cols), pose: sparseBasis(poseCols),
    skinK: 2, skinIndex, skinWeight,
    bindK: 1, bindIndex: Uint32Array.from({ length: n }, (_, i) => i), bindWeight: new Float32Array(n).fill(1),
    offsets: new Float32Array(n * 3), colors: new Float32Array(n * 3), opacities: new Float32Array(n).fill(1),
    scales: new Float32Array(n * 3).fill(0.001), rotations,
    landmarks: { ids, vertex, bary },
  });
}

/** Frame parameters for a rig: {expr: {name: value}, pose: {joint: [x, y, z]}}. */
export function params(rig, { expr = {}, pose = {} } = {}) {
  const p = zeroParams(rig.exprNames.length, 5);
  for (const [k, v] of Object.entries(expr)) {
    const i = rig.exprNames.indexOf(k);
    if (i < 0) throw new Error(`no channel ${k}`);
    p.expr[i] = v;
  }
  for (const [k, v] of Object.entries(pose)) p.pose.set(v, JOINTS.indexOf(k) * 3);
  return p;
}

/**
 * MediaPipe-style landmarks (478*3: x / W, y / H, z / W) of the rig posed by `p`, seen by a camera that
 * maps head-frame metres to pixels by q = s R0 (R_cam x) + t (R0 = diag(1, -1, -1)): `camera` = {s, t,
 * rot: axis-angle of an extra rotation of the whole head, width, height}. `offset` (478*3 metres, optional)
 * is added to the posed landmarks (a user whose face differs from the avatar's); `noise` (pixels) jitters them.
 */
export function observe(rig, p, { s = 2200, t = [320, 250, 40], rot = [0, 0, 0], width = 640, height = 480, offset = null, noise = 0, seed = 3 } = {}) {
  const d = new Deformer(rig), m = new Float32Array(rig.n * 4);
  d.deform(p, m, null);
  const R = axisAngleToMatrix(rot[0], rot[1], rot[2], new Float64Array(9));
  const out = new Float32Array(478 * 3), r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  for (let i = 0; i < 478; i++) {
    let x = m[i * 4], y = m[i * 4 + 1], z = m[i * 4 + 2];
    if (offset) { x += offset[i * 3]; y += offset[i * 3 + 1]; z += offset[i * 3 + 2]; }
    const X = R[0] * x + R[1] * y + R[2] * z, Y = R[3] * x + R[4] * y + R[5] * z, Z = R[6] * x + R[7] * y + R[8] * z;
    const qx = s * X + t[0] + noise * gauss(), qy = -s * Y + t[1] + noise * gauss(), qz = -s * Z + t[2] + noise * gauss();
    out[i * 3] = qx / width; out[i * 3 + 1] = qy / height; out[i * 3 + 2] = qz / width;
  }
  return out;
}

/** The rig's landmark positions (head frame) posed by p (no camera). */
export function posedLandmarks(rig, p) {
  const d = new Deformer(rig), m = new Float32Array(rig.n * 4);
  d.deform(p, m, null);
  const out = new Float64Array(478 * 3);
  for (let i = 0; i < 478; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = m[i * 4 + c];
  return out;
}
