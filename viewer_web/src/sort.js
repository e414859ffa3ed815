// Back-to-front order of the deformed centres by camera-space depth (what the reference sorts by).
//
// Keys are the depths quantised to 22 bits over this frame's [min, max] (a 25 cm head gets 0.06 um steps,
// far below any real difference between two splats), sorted by a stable LSD radix sort in two passes of
// 11 bits. Equal keys keep descending index order, the reverse of the reference's stable front-to-back
// order, so ties draw in the same order as the reference too. ~O(n), no allocation after the first call.

const BITS = 11;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;
const LEVELS = (1 << (2 * BITS)) - 1;

export class DepthSorter {
  constructor(n) {
    this.resize(n);
    this.hist = new Uint32Array(2 * BUCKETS);
  }

  resize(n) {
    this.n = n;
    this.keys = new Uint32Array(n);
    this.tmp = new Uint32Array(n);
    this.depth = new Float32Array(n);
  }

  /**
   * means: centres with `stride` floats per Gaussian; view: 4x4 row-major world->camera (only the third
   * row is used); order (Uint32Array n): written far to near. Returns order.
   */
  sort(means, stride, view, order) {
    const n = this.n, depth = this.depth, keys = this.keys, tmp = this.tmp, hist = this.hist;
    const r0 = view[8], r1 = view[9], r2 = view[10], r3 = view[11];
    let lo = Infinity, hi = -Infinity;
    for (let i = 0, o = 0; i < n; i++, o += stride) {
      const z = r0 * means[o] + r1 * means[o + 1] + r2 * means[o + 2] + r3;
      depth[i] = z;
      if (z < lo) lo = z;
      if (z > hi) hi = z;
    }
    // far first: key 0 is the farthest (ties: higher index first, i.e. iterate indices backwards)
    const scale = hi > lo ? LEVELS / (hi - lo) : 0;
    hist.fill(0);
    for (let i = 0; i < n; i++) {
      let k = ((hi - depth[i]) * scale) | 0;
      if (!(k >= 0)) k = 0; else if (k > LEVELS) k = LEVELS; // NaN-safe
      keys[i] = k;
      hist[k & MASK]++;
      hist[BUCKETS + (k >>> BITS)]++;
    }
    let s0 = 0, s1 = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c0 = hist[b], c1 = hist[BUCKETS + b];
      hist[b] = s0; hist[BUCKETS + b] = s1;
      s0 += c0; s1 += c1;
    }
    for (let i = n - 1; i >= 0; i--) tmp[hist[keys[i] & MASK]++] = i;
    for (let p = 0; p < n; p++) {
      const i = tmp[p];
      order[hist[BUCKETS + (keys[i] >>> BITS)]++] = i;
    }
    return order;
  }
}
