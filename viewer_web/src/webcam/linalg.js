// Small dense linear algebra for the webcam solver: Cholesky solves, a box-constrained quadratic program,
// the eigenvector of a symmetric 4x4 matrix (Horn's quaternion Procrustes), and rotation conversions.
// Matrices are row-major Float64Arrays; nothing here allocates per call except where stated.

/** In-place Cholesky factorisation of the n x n symmetric positive definite matrix a (lower triangle
 * written, row-major). Returns false when a pivot is not positive (not positive definite). */
export function cholesky(a, n) {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / l;
    }
  }
  return true;
}

/** Solve L L^T x = b in place (b becomes x) with the factor from cholesky(). */
export function choleskySolve(l, n, b) {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/**
 * Box-constrained strictly convex quadratic program: argmin_x 1/2 x^T H x - b^T x with lo <= x <= hi.
 * Active-set method: solve on the free variables (Cholesky), pin violators at their bounds, release bound
 * variables whose gradient points inside, until neither happens (at most maxIter rounds; the result is
 * always within the bounds). `x` holds the result; `work` is scratch of at least n*n + 2n doubles.
 * Returns the number of rounds used.
 */
export function boxQP(H, b, lo, hi, n, x, work, maxIter = 30) {
  const state = new Int8Array(n); // 0 free, -1 at lo, +1 at hi
  const free = new Int32Array(n);
  const m = work.subarray(0, n * n), r = work.subarray(n * n, n * n + n);
  let rounds = 0;
  for (; rounds < maxIter; rounds++) {
    let nf = 0;
    for (let i = 0; i < n; i++) {
      if (state[i] === 0) free[nf++] = i;
      else x[i] = state[i] < 0 ? lo[i] : hi[i];
    }
    if (nf > 0) {
      for (let a = 0; a < nf; a++) {
        const i = free[a];
        let s = b[i];
        for (let j = 0; j < n; j++) if (state[j] !== 0) s -= H[i * n + j] * x[j];
        r[a] = s;
        for (let c = 0; c <= a; c++) m[a * nf + c] = H[i * n + free[c]];
      }
      if (!cholesky(m, nf)) throw new Error('boxQP: the matrix is not positive definite');
      choleskySolve(m, nf, r);
    }
    let changed = false;
    for (let a = 0; a < nf; a++) {
      const i = free[a], v = r[a];
      if (v < lo[i]) { state[i] = -1; x[i] = lo[i]; changed = true; }
      else if (v > hi[i]) { state[i] = 1; x[i] = hi[i]; changed = true; }
      else x[i] = v;
    }
    if (changed) continue;
    // KKT: a variable held at a bound must not want to move inside
    for (let i = 0; i < n; i++) {
      if (state[i] === 0) continue;
      let g = -b[i];
      for (let j = 0; j < n; j++) g += H[i * n + j] * x[j];
      if ((state[i] < 0 && g < -1e-12 * (1 + Math.abs(b[i]))) || (state[i] > 0 && g > 1e-12 * (1 + Math.abs(b[i])))) {
        state[i] = 0;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return rounds + 1;
}

/** Eigenvector of the largest eigenvalue of a symmetric 4x4 matrix (row-major, 16 values), by cyclic
 * Jacobi rotations; written to out[0..4] (unit length). */
export function largestEigenvector4(sym, out) {
  const a = Float64Array.from(sym);
  const v = new Float64Array(16);
  v[0] = v[5] = v[10] = v[15] = 1;
  for (let sweep = 0; sweep < 30; sweep++) {
    let off = 0;
    for (let p = 0; p < 4; p++) for (let q = p + 1; q < 4; q++) off += a[p * 4 + q] * a[p * 4 + q];
    if (off < 1e-30) break;
    for (let p = 0; p < 4; p++) {
      for (let q = p + 1; q < 4; q++) {
        const apq = a[p * 4 + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * 4 + q] - a[p * 4 + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < 4; k++) {
          const akp = a[k * 4 + p], akq = a[k * 4 + q];
          a[k * 4 + p] = c * akp - s * akq;
          a[k * 4 + q] = s * akp + c * akq;
        }
        for (let k = 0; k < 4; k++) {
          const apk = a[p * 4 + k], aqk = a[q * 4 + k];
          a[p * 4 + k] = c * apk - s * aqk;
          a[q * 4 + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < 4; k++) {
          const vkp = v[k * 4 + p], vkq = v[k * 4 + q];
          v[k * 4 + p] = c * vkp - s * vkq;
          v[k * 4 + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i < 4; i++) if (a[i * 5] > a[best * 5]) best = i;
  let n = 0;
  for (let k = 0; k < 4; k++) n += v[k * 4 + best] * v[k * 4 + best];
  n = Math.sqrt(n);
  for (let k = 0; k < 4; k++) out[k] = v[k * 4 + best] / n;
  return out;
}

/** Unit quaternion wxyz -> 3x3 row-major rotation (out[o..o+9]). */
export function quaternionToMatrix(w, x, y, z, out, o = 0) {
  out[o] = 1 - 2 * (y * y + z * z); out[o + 1] = 2 * (x * y - w * z); out[o + 2] = 2 * (x * z + w * y);
  out[o + 3] = 2 * (x * y + w * z); out[o + 4] = 1 - 2 * (x * x + z * z); out[o + 5] = 2 * (y * z - w * x);
  out[o + 6] = 2 * (x * z - w * y); out[o + 7] = 2 * (y * z + w * x); out[o + 8] = 1 - 2 * (x * x + y * y);
  return out;
}

/** 3x3 row-major rotation -> axis-angle (out[o..o+3]), angle in [0, pi]. */
export function matrixToAxisAngle(m, out, o = 0) {
  const c = Math.max(-1, Math.min(1, (m[0] + m[4] + m[8] - 1) / 2));
  const angle = Math.acos(c);
  let x = m[7] - m[5], y = m[2] - m[6], z = m[3] - m[1];
  const s = Math.hypot(x, y, z);
  if (angle < 1e-7 || s < 1e-12) {
    if (angle > 3.0) {
      // near pi: the axis from the diagonal
      x = Math.sqrt(Math.max(0, (m[0] + 1) / 2));
      y = Math.sqrt(Math.max(0, (m[4] + 1) / 2)) * (m[1] >= 0 ? 1 : -1);
      z = Math.sqrt(Math.max(0, (m[8] + 1) / 2)) * (m[2] >= 0 ? 1 : -1);
      const n = Math.hypot(x, y, z) || 1;
      out[o] = (x / n) * angle; out[o + 1] = (y / n) * angle; out[o + 2] = (z / n) * angle;
      return out;
    }
    // small angle: (R - R^T) / 2 = [axis * angle]_x to first order
    out[o] = x / 2; out[o + 1] = y / 2; out[o + 2] = z / 2;
    return out;
  }
  out[o] = (x / s) * angle; out[o + 1] = (y / s) * angle; out[o + 2] = (z / s) * angle;
  return out;
}

/** c = a * b for 3x3 row-major matrices (c may not alias a or b). */
export function mul3(a, b, c) {
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) c[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  }
  return c;
}

/** c = a * b^T for 3x3 row-major matrices. */
export function mul3T(a, b, c) {
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) c[i * 3 + j] = a[i * 3] * b[j * 3] + a[i * 3 + 1] * b[j * 3 + 1] + a[i * 3 + 2] * b[j * 3 + 2];
  }
  return c;
}
