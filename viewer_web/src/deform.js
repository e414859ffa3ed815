// Per-frame deformation of the Gaussians, exactly as lam_core (rig.py, lbs.py, gaussians.py):
//   1. joint rotations R_j = rodrigues(pose_j); pose feature = vec(R_j - I) of the non-root joints
//   2. base mesh: rest + sum_k c_k expr_k + sum_p f_p pose_p   (sparse channel-major bases)
//   3. joints: rest + sum_k c_k jointExpr_k; forward kinematics -> A_j (3x4), world rotations
//   4. each Gaussian: p = sum_b w_b base[idx_b] + offset;  T = sum_j W_j A_j;  mean = T p
//   5. rotation: q = normalise(sum_j W_j s_j q_j) (s_j puts q_j in the root's hemisphere);  q * q_gaussian
// Output: means and quaternions with a stride of 4 floats (RGBA texture rows), quaternions wxyz.

import { axisAngleToMatrix, forwardKinematics, matrixToQuaternion } from './kinematics.js';
import { gaussianSkinWeights } from './avatar.js';

/** Zero frame parameters for a rig with k expression channels and nj joints. */
export function zeroParams(k, nj = 5) {
  return { expr: new Float32Array(k), pose: new Float32Array(nj * 3), translation: new Float32Array(3) };
}

/** Add a sparse channel-major basis times coefficients to `out` (V*3). Channels whose coefficient is zero
 * cost nothing. */
export function addBasis(basis, coeffs, out) {
  const { ptr, index, delta, scale } = basis;
  for (let k = 0; k < basis.count; k++) {
    let c = coeffs[k];
    if (c === 0) continue;
    if (scale) c *= scale[k];
    const end = ptr[k + 1];
    for (let e = ptr[k]; e < end; e++) {
      const v = index[e] * 3, d = e * 3;
      out[v] += c * delta[d];
      out[v + 1] += c * delta[d + 1];
      out[v + 2] += c * delta[d + 2];
    }
  }
}

export class Deformer {
  constructor(avatar) {
    this.avatar = avatar;
    const nj = avatar.parents.length;
    this.nj = nj;
    this.n = avatar.n;
    this.weights = gaussianSkinWeights(avatar);
    this.base = new Float32Array(avatar.nVertices * 3);
    this.joints = new Float64Array(nj * 3);
    this.rot = new Float64Array(nj * 9);
    this.poseFeature = new Float32Array((nj - 1) * 9);
    this.A = new Float64Array(nj * 12);
    this.worldRot = new Float64Array(nj * 9);
    this.posedJoints = new Float64Array(nj * 3);
    this.jointQuats = new Float64Array(nj * 4);
    // per-joint arrays in float32 for the per-Gaussian loop (the Python code works in float32)
    this.A32 = new Float32Array(nj * 12);
    this.Q32 = new Float32Array(nj * 4);
  }

  /** Rotations, pose feature, deformed base mesh and joint transforms of one frame. */
  prepare(params) {
    const a = this.avatar, nj = this.nj;
    const { expr, pose, translation } = params;
    for (let j = 0; j < nj; j++) axisAngleToMatrix(pose[j * 3], pose[j * 3 + 1], pose[j * 3 + 2], this.rot, j * 9);
    for (let j = 1; j < nj; j++) {
      for (let e = 0; e < 9; e++) {
        this.poseFeature[(j - 1) * 9 + e] = this.rot[j * 9 + e] - (e % 4 === 0 ? 1 : 0);
      }
    }
    this.base.set(a.vertices);
    addBasis(a.expr, expr, this.base);
    addBasis(a.pose, this.poseFeature, this.base);
    const k = a.expr.count;
    for (let i = 0; i < nj * 3; i++) this.joints[i] = a.jointRest[i];
    for (let c = 0; c < k; c++) {
      const coeff = expr[c];
      if (coeff === 0) continue;
      const o = c * nj * 3;
      for (let i = 0; i < nj * 3; i++) this.joints[i] += coeff * a.jointExpr[o + i];
    }
    forwardKinematics(this.rot, this.joints, a.parents, translation, this.A, this.worldRot, this.posedJoints);
    for (let j = 0; j < nj; j++) matrixToQuaternion(this.worldRot, j * 9, this.jointQuats, j * 4);
    // put every joint quaternion in the root's hemisphere
    const q = this.jointQuats;
    for (let j = 0; j < nj; j++) {
      const dot = q[j * 4] * q[0] + q[j * 4 + 1] * q[1] + q[j * 4 + 2] * q[2] + q[j * 4 + 3] * q[3];
      const s = dot < 0 ? -1 : 1;
      for (let c = 0; c < 4; c++) this.Q32[j * 4 + c] = s * q[j * 4 + c];
    }
    this.A32.set(this.A);
  }

  /** Deform every Gaussian: writes means (n*4: x, y, z, 1) and quats (n*4: w, x, y, z). With `quats`
   * null only the centres are computed. */
  deform(params, means, quats) {
    this.prepare(params);
    this.skin(means, quats);
  }

  skin(means, quats) {
    const a = this.avatar, n = this.n, nj = this.nj, bk = a.bindK;
    const base = this.base, W = this.weights, A = this.A32, Q = this.Q32;
    const bIdx = a.bindIndex, bW = a.bindWeight, off = a.offsets, rot = a.rotations;
    for (let i = 0; i < n; i++) {
      // point on the deformed base mesh + the Gaussian's offset
      let px = 0, py = 0, pz = 0;
      for (let b = i * bk, end = b + bk; b < end; b++) {
        const w = bW[b], v = bIdx[b] * 3;
        px += w * base[v]; py += w * base[v + 1]; pz += w * base[v + 2];
      }
      px += off[i * 3]; py += off[i * 3 + 1]; pz += off[i * 3 + 2];
      // blended transform
      let t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0, t8 = 0, t9 = 0, t10 = 0, t11 = 0;
      let qw = 0, qx = 0, qy = 0, qz = 0;
      for (let j = 0, wo = i * nj; j < nj; j++) {
        const w = W[wo + j];
        if (w === 0) continue;
        const o = j * 12;
        t0 += w * A[o]; t1 += w * A[o + 1]; t2 += w * A[o + 2]; t3 += w * A[o + 3];
        t4 += w * A[o + 4]; t5 += w * A[o + 5]; t6 += w * A[o + 6]; t7 += w * A[o + 7];
        t8 += w * A[o + 8]; t9 += w * A[o + 9]; t10 += w * A[o + 10]; t11 += w * A[o + 11];
        const q = j * 4;
        qw += w * Q[q]; qx += w * Q[q + 1]; qy += w * Q[q + 2]; qz += w * Q[q + 3];
      }
      const m = i * 4;
      means[m] = t0 * px + t1 * py + t2 * pz + t3;
      means[m + 1] = t4 * px + t5 * py + t6 * pz + t7;
      means[m + 2] = t8 * px + t9 * py + t10 * pz + t11;
      means[m + 3] = 1;
      if (quats) {
        const len = Math.max(Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), 1e-12);
        qw /= len; qx /= len; qy /= len; qz /= len;
        const r = i * 4;
        const bw = rot[r], bx = rot[r + 1], by = rot[r + 2], bz = rot[r + 3];
        quats[r] = qw * bw - qx * bx - qy * by - qz * bz;
        quats[r + 1] = qw * bx + qx * bw + qy * bz - qz * by;
        quats[r + 2] = qw * by - qx * bz + qy * bw + qz * bx;
        quats[r + 3] = qw * bz + qx * by - qy * bx + qz * bw;
      }
    }
  }
}
