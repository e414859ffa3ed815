import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAvatar } from '../../viewer_web/src/avatar.js';
import { LIMITS } from '../../viewer_web/src/lam_reader.js';
import { Deformer, zeroParams } from '../../viewer_web/src/deform.js';
import { texelBuffer } from '../../viewer_web/src/texels.js';

// a one-joint, two-vertex rig with one Gaussian on each vertex
function tiny(over = {}) {
  const basis = (count) => ({ count, ptr: new Uint32Array(count + 1), index: new Uint32Array(0), delta: new Float32Array(0), scale: null });
  return {
    n: 2, nVertices: 2, exprNames: ['e'], jointNames: ['root'], parents: Int32Array.from([-1]),
    jointRest: new Float32Array(3), jointExpr: new Float32Array(3), vertices: Float32Array.from([0, 0, 0, 1, 0, 0]),
    expr: { count: 1, ptr: Uint32Array.from([0, 1]), index: Uint32Array.from([1]), delta: Float32Array.from([0, 1, 0]), scale: null },
    pose: basis(0), skinK: 1, skinIndex: Uint8Array.from([0, 0]), skinWeight: Float32Array.from([1, 1]),
    bindK: 1, bindIndex: Uint32Array.from([0, 1]), bindWeight: Float32Array.from([1, 1]),
    offsets: new Float32Array(6), colors: new Float32Array(6), opacities: Float32Array.from([1, 1]),
    scales: new Float32Array(6).fill(0.01), rotations: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0]), ...over,
  };
}

test('a valid avatar deforms: expression, rotation about the root, translation', () => {
  const a = checkAvatar(tiny());
  const d = new Deformer(a), m = texelBuffer(2), q = texelBuffer(2);
  const p = zeroParams(1, 1);
  p.expr[0] = 2;
  p.pose[2] = Math.PI / 2;  // 90 degrees about z
  p.translation[0] = 1;
  d.deform(p, m, q);
  // vertex 1: (1, 0, 0) + 2 (0, 1, 0) = (1, 2, 0) -> rotated (-2, 1, 0) -> translated (-1, 1, 0)
  assert.deepEqual([...m.subarray(4, 7)].map((x) => Math.round(x * 1e6) / 1e6), [-1, 1, 0]);
  assert.ok(Math.abs(q[0] - Math.SQRT1_2) < 1e-6 && Math.abs(q[3] - Math.SQRT1_2) < 1e-6);
});

test('corrupt avatars are refused with a message naming the problem', () => {
  assert.throws(() => checkAvatar(tiny({ n: 3 })), /offsets has 6 values, expected 9|bindIndex/);
  assert.throws(() => checkAvatar(tiny({ bindIndex: Uint32Array.from([0, 7]) })), /bindIndex\[1\] >= 2 vertices/);
  assert.throws(() => checkAvatar(tiny({ parents: Int32Array.from([0]) })), /parents\[0\]/);
  assert.throws(() => checkAvatar(tiny({ expr: { count: 1, ptr: Uint32Array.from([0, 5]), index: Uint32Array.from([1]), delta: new Float32Array(3), scale: null } })), /expr.index has 1 values, expected 5/);
  assert.throws(() => checkAvatar(tiny({ opacities: Float32Array.from([1, NaN]) })), /opacities contains NaN/);
  assert.throws(() => checkAvatar(tiny({ n: 2 ** 40 })), /Gaussian count/);
});

// a rig of nj joints (a chain, every vertex on the root) and k expression channels, with l landmarks
function wide(nj, k, l = 0) {
  const basis = (count) => ({ count, ptr: new Uint32Array(count + 1), index: new Uint32Array(0), delta: new Float32Array(0), scale: null });
  const parents = Int32Array.from({ length: nj }, (_, j) => j - 1);
  const landmarks = l ? { ids: Uint32Array.from({ length: l }, (_, i) => i), vertex: new Uint32Array(l * 3), bary: new Float32Array(l * 3).fill(1 / 3) } : null;
  return tiny({
    exprNames: Array.from({ length: k }, (_, i) => `c${i}`), expr: basis(k),
    jointNames: Array.from({ length: nj }, (_, j) => `j${j}`), parents,
    jointRest: new Float32Array(nj * 3), jointExpr: new Float32Array(k * nj * 3), pose: basis((nj - 1) * 9), landmarks,
  });
}

test('the viewer takes every avatar the .lam format allows (its caps are the format\'s)', () => {
  assert.equal(checkAvatar(wide(LIMITS.MAX_JOINTS, 1)).parents.length, 1024);
  assert.equal(checkAvatar(wide(1, LIMITS.MAX_CHANNELS)).exprNames.length, 8192);
  assert.equal(checkAvatar(wide(1, 1, LIMITS.MAX_LANDMARKS)).landmarks.ids.length, 65536);
  assert.equal(checkAvatar(tiny({ bindK: LIMITS.MAX_BIND_K, bindIndex: new Uint32Array(32), bindWeight: new Float32Array(32).fill(1 / 16) })).bindK, 16);
  assert.throws(() => checkAvatar(wide(LIMITS.MAX_JOINTS + 1, 1)), /joint count 1025/);
  assert.throws(() => checkAvatar(wide(1, LIMITS.MAX_CHANNELS + 1)), /exprNames/);
  assert.throws(() => checkAvatar(wide(1, 1, LIMITS.MAX_LANDMARKS + 1)), /65537 landmarks/);
});
