// Rotation and forward-kinematics maths of the rig, mirroring lam_core/rotations.py and lam_core/lbs.py.
// Matrices are row-major arrays acting on column vectors; quaternions are wxyz, unit length.

/** Rodrigues: axis-angle (ax, ay, az) -> 3x3 row-major rotation, written to out[o..o+9]. Exact at zero
 * (Taylor terms below 1e-4 rad, as the Python code). */
export function axisAngleToMatrix(ax, ay, az, out, o = 0) {
  const t2 = ax * ax + ay * ay + az * az;
  let a, b;
  if (t2 < 1e-8) {
    a = 1 - t2 / 6;
    b = 0.5 - t2 / 24;
  } else {
    const t = Math.sqrt(t2);
    a = Math.sin(t) / t;
    b = (1 - Math.cos(t)) / t2;
  }
  // R = I + a K + b K^2 with K the cross-product matrix of (ax, ay, az)
  out[o + 0] = 1 - b * (ay * ay + az * az);
  out[o + 1] = -a * az + b * ax * ay;
  out[o + 2] = a * ay + b * ax * az;
  out[o + 3] = a * az + b * ax * ay;
  out[o + 4] = 1 - b * (ax * ax + az * az);
  out[o + 5] = -a * ax + b * ay * az;
  out[o + 6] = -a * ay + b * ax * az;
  out[o + 7] = a * ax + b * ay * az;
  out[o + 8] = 1 - b * (ax * ax + ay * ay);
  return out;
}

/** 3x3 row-major rotation (m[o..o+9]) -> unit quaternion wxyz with w >= 0 (Shepperd's method, choosing the
 * candidate as lam_core.rotations.matrix_to_quaternion does), written to out[q..q+4]. */
export function matrixToQuaternion(m, o, out, q = 0) {
  const m00 = m[o], m01 = m[o + 1], m02 = m[o + 2];
  const m10 = m[o + 3], m11 = m[o + 4], m12 = m[o + 5];
  const m20 = m[o + 6], m21 = m[o + 7], m22 = m[o + 8];
  const d0 = m00 + m11 + m22, d1 = m00 - (m11 + m22), d2 = m11 - (m00 + m22), d3 = m22 - (m00 + m11);
  let best = 0, bv = d0;
  if (d1 > bv) { best = 1; bv = d1; }
  if (d2 > bv) { best = 2; bv = d2; }
  if (d3 > bv) { best = 3; }
  let w, x, y, z;
  if (best === 0) { w = 1 + m00 + m11 + m22; x = m21 - m12; y = m02 - m20; z = m10 - m01; }
  else if (best === 1) { w = m21 - m12; x = 1 + m00 - m11 - m22; y = m01 + m10; z = m02 + m20; }
  else if (best === 2) { w = m02 - m20; x = m01 + m10; y = 1 - m00 + m11 - m22; z = m12 + m21; }
  else { w = m10 - m01; x = m02 + m20; y = m12 + m21; z = 1 - m00 - m11 + m22; }
  let n = Math.hypot(w, x, y, z);
  if (w < 0) n = -n;
  out[q] = w / n; out[q + 1] = x / n; out[q + 2] = y / n; out[q + 3] = z / n;
  return out;
}

/** Hamilton product a*b of wxyz quaternions (b first, then a) into out[o..o+4]. */
export function quaternionMultiply(aw, ax, ay, az, bw, bx, by, bz, out, o = 0) {
  out[o] = aw * bw - ax * bx - ay * by - az * bz;
  out[o + 1] = aw * bx + ax * bw + ay * bz - az * by;
  out[o + 2] = aw * by - ax * bz + ay * bw + az * bx;
  out[o + 3] = aw * bz + ax * by - ay * bx + az * bw;
  return out;
}

/**
 * Forward kinematics (lam_core.lbs.forward_kinematics + skin's translation):
 *   rot (J*9) local rotations, joints (J*3) rest joint positions (already moved by the expression),
 *   parents[j] < j (root -1), translation (3).
 * Writes A (J*12: the 3x4 rows of A_j = G_j [I | -J_j], translation included), worldRot (J*9) and
 * posedJoints (J*3).
 */
export function forwardKinematics(rot, joints, parents, translation, A, worldRot, posedJoints) {
  const nj = parents.length;
  const world = new Float64Array(nj * 12);
  for (let j = 0; j < nj; j++) {
    const p = parents[j];
    const r = j * 9, w = j * 12;
    let rx = joints[j * 3], ry = joints[j * 3 + 1], rz = joints[j * 3 + 2];
    if (p < 0) {
      for (let i = 0; i < 3; i++) {
        world[w + i * 4] = rot[r + i * 3];
        world[w + i * 4 + 1] = rot[r + i * 3 + 1];
        world[w + i * 4 + 2] = rot[r + i * 3 + 2];
      }
      world[w + 3] = rx; world[w + 7] = ry; world[w + 11] = rz;
    } else {
      rx -= joints[p * 3]; ry -= joints[p * 3 + 1]; rz -= joints[p * 3 + 2];
      const g = p * 12;
      for (let i = 0; i < 3; i++) {
        const g0 = world[g + i * 4], g1 = world[g + i * 4 + 1], g2 = world[g + i * 4 + 2];
        world[w + i * 4] = g0 * rot[r] + g1 * rot[r + 3] + g2 * rot[r + 6];
        world[w + i * 4 + 1] = g0 * rot[r + 1] + g1 * rot[r + 4] + g2 * rot[r + 7];
        world[w + i * 4 + 2] = g0 * rot[r + 2] + g1 * rot[r + 5] + g2 * rot[r + 8];
        world[w + i * 4 + 3] = g0 * rx + g1 * ry + g2 * rz + world[g + i * 4 + 3];
      }
    }
  }
  const tx = translation[0], ty = translation[1], tz = translation[2];
  const t = [tx, ty, tz];
  for (let j = 0; j < nj; j++) {
    const w = j * 12;
    const jx = joints[j * 3], jy = joints[j * 3 + 1], jz = joints[j * 3 + 2];
    for (let i = 0; i < 3; i++) {
      const r0 = world[w + i * 4], r1 = world[w + i * 4 + 1], r2 = world[w + i * 4 + 2];
      const pj = world[w + i * 4 + 3];
      A[w + i * 4] = r0; A[w + i * 4 + 1] = r1; A[w + i * 4 + 2] = r2;
      A[w + i * 4 + 3] = pj - (r0 * jx + r1 * jy + r2 * jz) + t[i];
      worldRot[j * 9 + i * 3] = r0; worldRot[j * 9 + i * 3 + 1] = r1; worldRot[j * 9 + i * 3 + 2] = r2;
      posedJoints[j * 3 + i] = pj + t[i];
    }
  }
}
