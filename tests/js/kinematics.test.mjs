import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisAngleToMatrix, matrixToQuaternion, quaternionMultiply, forwardKinematics } from '../../viewer_web/src/kinematics.js';

const close = (a, b, tol = 1e-9) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `${i}: ${x} vs ${b[i]}`));

test('rodrigues: 90 degrees about z, and the Taylor branch at tiny angles', () => {
  close(axisAngleToMatrix(0, 0, Math.PI / 2, new Float64Array(9)), [0, -1, 0, 1, 0, 0, 0, 0, 1], 1e-12);
  close(axisAngleToMatrix(0, 0, 0, new Float64Array(9)), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const small = axisAngleToMatrix(1e-6, 0, 0, new Float64Array(9));
  close(small, [1, 0, 0, 0, 1, -1e-6, 0, 1e-6, 1], 1e-12);
});

test('matrix -> quaternion round trip with w >= 0, for every branch', () => {
  for (const aa of [[0.3, -0.2, 0.1], [3.0, 0.1, 0], [0, 3.1, 0.2], [0.1, 0, -3.0], [0, 0, 0]]) {
    const m = axisAngleToMatrix(...aa, new Float64Array(9));
    const q = matrixToQuaternion(m, 0, new Float64Array(4));
    assert.ok(q[0] >= 0);
    const t = Math.hypot(...aa);
    const s = t > 0 ? Math.sin(t / 2) / t : 0;
    const want = [Math.cos(t / 2), aa[0] * s, aa[1] * s, aa[2] * s];
    const sign = want[0] < 0 ? -1 : 1;
    close(q, want.map((x) => x * sign), 1e-9);
  }
});

test('quaternion product: identity and composition order (b first, then a)', () => {
  close(quaternionMultiply(1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, new Float64Array(4)), [0.5, 0.5, 0.5, 0.5]);
  const c = Math.SQRT1_2;
  // 90 deg about x, then 90 deg about z
  close(quaternionMultiply(c, 0, 0, c, c, c, 0, 0, new Float64Array(4)), [0.5, 0.5, 0.5, 0.5], 1e-12);
});

test('forward kinematics: a child rotates about its own joint and translation adds', () => {
  const rot = new Float64Array(18);
  axisAngleToMatrix(0, 0, 0, rot, 0);
  axisAngleToMatrix(0, 0, Math.PI / 2, rot, 9);
  const joints = [0, 0, 0, 1, 0, 0];
  const A = new Float64Array(24), wr = new Float64Array(18), pj = new Float64Array(6);
  forwardKinematics(rot, joints, Int32Array.from([-1, 0]), [0, 0, 1], A, wr, pj);
  close(pj, [0, 0, 1, 1, 0, 1]);
  // the point (2, 0, 0) skinned fully to joint 1 goes to (1, 1, 1)
  const p = [2, 0, 0], o = 12;
  const x = [0, 1, 2].map((i) => A[o + i * 4] * p[0] + A[o + i * 4 + 1] * p[1] + A[o + i * 4 + 2] * p[2] + A[o + i * 4 + 3]);
  close(x, [1, 1, 1], 1e-12);
});
