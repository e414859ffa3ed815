// Idle animation: what a still avatar does so that it looks alive. Small slow head motion (global
// rotation), gaze shifts of the eyes (eye joints) with quick saccades, and blinks where the rig has blink
// channels (ARKit names eyeBlinkLeft/eyeBlinkRight, or any channel named like *blink*). Deterministic for a
// seed; parameters are added on top of the neutral frame.

const BLINK_MS = 160;

/** A small deterministic PRNG (mulberry32): numbers in [0, 1) for a seed. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Indices of the rig's blink channels: [left, right] (ARKit names first), or []. */
export function blinkChannels(exprNames) {
  const exact = ['eyeBlinkLeft', 'eyeBlinkRight'].map((n) => exprNames.indexOf(n)).filter((i) => i >= 0);
  if (exact.length) return exact;
  return exprNames.map((n, i) => (/blink/i.test(n) ? i : -1)).filter((i) => i >= 0);
}

export class IdleAnimation {
  /** For a rig with these channel and joint names (the head turns its 'global' joint, the gaze 'eye_l' and
   * 'eye_r', wherever they are; a rig without one does without). */
  constructor(exprNames, jointNames, seed = 1) {
    this.blinks = blinkChannels(exprNames);
    this.head = jointNames.indexOf('global');
    this.eyes = ['eye_l', 'eye_r'].map((n) => jointNames.indexOf(n)).filter((j) => j >= 0);
    this.rand = mulberry32(seed);
    this.nextBlink = 1500;
    this.gaze = [0, 0];
    this.gazeFrom = [0, 0];
    this.gazeAt = 0;
    this.nextGaze = 1200;
  }

  get hasBlinks() {
    return this.blinks.length > 0;
  }

  /** Write the idle parameters at time `ms` (milliseconds since the idle started) into out. */
  paramsAt(ms, out) {
    out.expr.fill(0); out.pose.fill(0); out.translation.fill(0);
    const s = ms / 1000;
    // head: slow, small, incommensurate sines (a few degrees)
    const d = Math.PI / 180;
    if (this.head >= 0) {
      const h = this.head * 3;
      out.pose[h] = d * (1.6 * Math.sin(0.31 * s * 2 * Math.PI) + 0.6 * Math.sin(0.13 * s * 2 * Math.PI + 1));
      out.pose[h + 1] = d * (3.0 * Math.sin(0.11 * s * 2 * Math.PI + 0.5) + 1.0 * Math.sin(0.27 * s * 2 * Math.PI));
      out.pose[h + 2] = d * (0.8 * Math.sin(0.17 * s * 2 * Math.PI + 2));
    }
    // gaze: hold, then a 60 ms saccade to a new nearby target
    if (ms >= this.nextGaze) {
      this.gazeFrom = this._gazeNow(ms);
      this.gaze = [d * (this.rand() * 10 - 5), d * (this.rand() * 14 - 7)];
      this.gazeAt = ms;
      this.nextGaze = ms + 800 + this.rand() * 2200;
    }
    const g = this._gazeNow(ms);
    for (const j of this.eyes) {
      out.pose[j * 3] = g[0];
      out.pose[j * 3 + 1] = g[1];
    }
    // blinks: every 2-6 s, a 160 ms close-open
    if (this.blinks.length) {
      if (ms > this.nextBlink + BLINK_MS) this.nextBlink = ms + 2000 + this.rand() * 4000;
      const phase = (ms - this.nextBlink) / BLINK_MS;
      const v = phase >= 0 && phase <= 1 ? Math.sin(Math.PI * phase) : 0;
      for (const i of this.blinks) out.expr[i] = v;
    }
    return out;
  }

  _gazeNow(ms) {
    const k = Math.min(1, (ms - this.gazeAt) / 60);
    return [this.gazeFrom[0] + k * (this.gaze[0] - this.gazeFrom[0]), this.gazeFrom[1] + k * (this.gaze[1] - this.gazeFrom[1])];
  }
}
