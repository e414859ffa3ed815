// The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) over a vector of values: a first-order low-pass
// whose cutoff rises with the (low-passed) speed of the signal, so that a still face does not jitter and a
// fast movement is not delayed. Each value has its own scale (the size of a typical movement: radians for
// angles, 1 for ARKit channels, metres for landmark displacements), so that one `beta` serves all.
//
//   cutoff_i = minCutoff + beta * |dx_i/dt| / scale_i          (Hz)
//   alpha(c) = 1 / (1 + 1 / (2 pi c dt))

export class OneEuroFilter {
  /**
   * @param {Float64Array|number[]} scales per-value size of a typical movement
   * @param {{minCutoff?: number, beta?: number, dCutoff?: number}} options minCutoff (Hz) sets the smoothing
   *   of a still signal, beta how fast the cutoff rises with speed, dCutoff (Hz) smooths the speed estimate
   */
  constructor(scales, { minCutoff = 1.0, beta = 4.0, dCutoff = 1.0 } = {}) {
    this.n = scales.length;
    this.scales = Float64Array.from(scales);
    this.minCutoff = minCutoff;
    this.beta = beta;
    this.dCutoff = dCutoff;
    this.x = new Float64Array(this.n);
    this.dx = new Float64Array(this.n);
    this.last = null;
  }

  reset() {
    this.last = null;
  }

  /** Filter `values` (length n) observed at `timeMs`, in place; returns values. */
  filter(values, timeMs) {
    const n = this.n;
    if (this.last === null || !(timeMs > this.last)) {
      // first sample (or a clock that did not advance): take it as it is
      if (this.last === null) {
        for (let i = 0; i < n; i++) { this.x[i] = values[i]; this.dx[i] = 0; }
        this.last = timeMs;
      } else {
        for (let i = 0; i < n; i++) values[i] = this.x[i];
      }
      return values;
    }
    const dt = Math.min(1, (timeMs - this.last) / 1000);
    this.last = timeMs;
    const ad = alpha(this.dCutoff, dt);
    for (let i = 0; i < n; i++) {
      const raw = (values[i] - this.x[i]) / dt;
      const d = this.dx[i] + ad * (raw - this.dx[i]);
      this.dx[i] = d;
      const a = alpha(this.minCutoff + this.beta * Math.abs(d) / this.scales[i], dt);
      const v = this.x[i] + a * (values[i] - this.x[i]);
      this.x[i] = v;
      values[i] = v;
    }
    return values;
  }
}

function alpha(cutoff, dt) {
  return 1 / (1 + 1 / (2 * Math.PI * cutoff * dt));
}
