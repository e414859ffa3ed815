// Weighted similarity Procrustes: argmin over (s, R, t) of sum_i w_i |s R a_i + t - b_i|^2 with R a proper
// rotation (Horn's closed form: the rotation is the quaternion of the largest eigenvalue of a symmetric 4x4
// matrix built from the weighted cross-covariance; no reflections possible). Mirrors
// lam_core.reconstruct.pose.similarity_procrustes (Umeyama), which gives the same optimum.

import { largestEigenvector4, quaternionToMatrix } from './linalg.js';

/**
 * a, b: point arrays (n*3, any array type) with the same row order; w: weights (n), non-negative.
 * rows: optional Int32Array of the rows to use (default all n). Writes into out = {s, R: Float64Array(9),
 * t: Float64Array(3), q: Float64Array(4)} and returns it, or returns null when the weights or the spread of
 * `a` are zero (nothing to fit).
 */
export function similarityProcrustes(a, b, w, n, out = newSimilarity(), rows = null) {
  const count = rows ? rows.length : n;
  let sw = 0, ax = 0, ay = 0, az = 0, bx = 0, by = 0, bz = 0;
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r, wi = w[i];
    if (!(wi > 0)) continue;
    sw += wi;
    ax += wi * a[i * 3]; ay += wi * a[i * 3 + 1]; az += wi * a[i * 3 + 2];
    bx += wi * b[i * 3]; by += wi * b[i * 3 + 1]; bz += wi * b[i * 3 + 2];
  }
  if (!(sw > 0)) return null;
  ax /= sw; ay /= sw; az /= sw; bx /= sw; by /= sw; bz /= sw;
  let sxx = 0, sxy = 0, sxz = 0, syx = 0, syy = 0, syz = 0, szx = 0, szy = 0, szz = 0, var_ = 0;
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r] : r, wi = w[i];
    if (!(wi > 0)) continue;
    const px = a[i * 3] - ax, py = a[i * 3 + 1] - ay, pz = a[i * 3 + 2] - az;
    const qx = b[i * 3] - bx, qy = b[i * 3 + 1] - by, qz = b[i * 3 + 2] - bz;
    sxx += wi * px * qx; sxy += wi * px * qy; sxz += wi * px * qz;
    syx += wi * py * qx; syy += wi * py * qy; syz += wi * py * qz;
    szx += wi * pz * qx; szy += wi * pz * qy; szz += wi * pz * qz;
    var_ += wi * (px * px + py * py + pz * pz);
  }
  if (!(var_ > 0)) return null;
  const N = out._n;
  N[0] = sxx + syy + szz; N[1] = syz - szy; N[2] = szx - sxz; N[3] = sxy - syx;
  N[5] = sxx - syy - szz; N[6] = sxy + syx; N[7] = szx + sxz;
  N[10] = -sxx + syy - szz; N[11] = syz + szy;
  N[15] = -sxx - syy + szz;
  N[4] = N[1]; N[8] = N[2]; N[12] = N[3]; N[9] = N[6]; N[13] = N[7]; N[14] = N[11];
  const q = largestEigenvector4(N, out.q);
  if (q[0] < 0) for (let k = 0; k < 4; k++) q[k] = -q[k];
  const R = quaternionToMatrix(q[0], q[1], q[2], q[3], out.R);
  // s = sum w (b - b̄) . R (a - ā) / sum w |a - ā|^2 = trace(R^T M^T) / var with M = sum w (a-ā)(b-b̄)^T
  const dot = R[0] * sxx + R[1] * syx + R[2] * szx + R[3] * sxy + R[4] * syy + R[5] * szy + R[6] * sxz + R[7] * syz + R[8] * szz;
  out.s = dot / var_;
  if (!(out.s > 1e-12) || !Number.isFinite(out.s)) return null;   // the target has no spread
  out.t[0] = bx - out.s * (R[0] * ax + R[1] * ay + R[2] * az);
  out.t[1] = by - out.s * (R[3] * ax + R[4] * ay + R[5] * az);
  out.t[2] = bz - out.s * (R[6] * ax + R[7] * ay + R[8] * az);
  return out;
}

export function newSimilarity() {
  return { s: 1, R: new Float64Array(9), t: new Float64Array(3), q: new Float64Array(4), _n: new Float64Array(16) };
}

/** Points b (n*3) back through a similarity: out_i = R^T (b_i - t) / s. */
export function invertSimilarity(sim, b, n, out) {
  const R = sim.R, t = sim.t, k = 1 / sim.s;
  for (let i = 0; i < n; i++) {
    const x = b[i * 3] - t[0], y = b[i * 3 + 1] - t[1], z = b[i * 3 + 2] - t[2];
    out[i * 3] = k * (R[0] * x + R[3] * y + R[6] * z);
    out[i * 3 + 1] = k * (R[1] * x + R[4] * y + R[7] * z);
    out[i * 3 + 2] = k * (R[2] * x + R[5] * y + R[8] * z);
  }
  return out;
}
