import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DepthSorter } from '../../viewer_web/src/sort.js';

const view = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]; // depth = z

function means(zs) {
  const m = new Float32Array(zs.length * 4);
  zs.forEach((z, i) => { m[i * 4 + 2] = z; });
  return m;
}

test('orders far to near', () => {
  const n = 5000, zs = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.3 + 0.6);
  const order = new Uint32Array(n);
  new DepthSorter(n).sort(means(zs), 4, view, order);
  assert.deepEqual([...order].sort((a, b) => a - b), [...Array(n).keys()], 'a permutation');
  for (let i = 1; i < n; i++) assert.ok(zs[order[i - 1]] >= zs[order[i]] - 1e-7, `depth increases at ${i}`);
});

test('equal depths keep descending index order (the reverse of the reference front-to-back order)', () => {
  const order = new Uint32Array(6);
  new DepthSorter(6).sort(means([1, 2, 1, 2, 1, 2]), 4, view, order);
  assert.deepEqual([...order], [5, 3, 1, 4, 2, 0]);
});

test('uses the third row of the view matrix and tolerates NaN and one element', () => {
  const v = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 5, 0, 0, 0, 1]; // depth = 5 - z
  const order = new Uint32Array(3);
  new DepthSorter(3).sort(means([0, 1, 2]), 4, v, order);
  assert.deepEqual([...order], [0, 1, 2]);
  new DepthSorter(3).sort(means([NaN, 1, 2]), 4, view, order);
  assert.deepEqual([...order].sort(), [0, 1, 2]);
  const one = new Uint32Array(1);
  new DepthSorter(1).sort(means([3]), 4, view, one);
  assert.deepEqual([...one], [0]);
});
