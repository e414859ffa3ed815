// Recording the solved parameters as a motion file that the viewer and lam-render play: lam-motion JSON
// (lam_core/motion/lam_motion_json.py reads and writes the same layout, motion.js reads it):
//   {format: "lam-motion", version: 1, fps, frames, channel_names, joint_names, channels, pose, translation,
//    source}, arrays as base64 little-endian float32, frame-major; channels that stay zero are left out.
// Tracking delivers frames at an uneven rate; the recording is resampled to a fixed rate (linear
// interpolation between the tracked frames, by their timestamps).

import { FLAME_JOINTS, jointMap } from '../joints.js';
import { floatsToBase64 } from '../motion.js';

export const MAX_RECORD_VALUES = 12_000_000;   // keeps the JSON under ~64 MiB (the viewer's motion limit)

export class MotionRecorder {
  /** @param {string[]} exprNames the avatar's channels; @param {string[]} jointNames its joints (the file's
   * pose takes FLAME's joints by name); @param {{fps?: number}} */
  constructor(exprNames, jointNames, { fps = 30 } = {}) {
    this.exprNames = exprNames;
    this.fromRig = jointMap(FLAME_JOINTS, jointNames);
    this.fps = fps;
    this.times = [];
    this.frames = [];
    this.full = false;
  }

  get count() { return this.frames.length; }
  get duration() { return this.times.length ? (this.times[this.times.length - 1] - this.times[0]) / 1000 : 0; }

  /** Add one solved frame (copied). Returns false once the recording is full (see MAX_RECORD_VALUES). */
  add(timeMs, params) {
    if (this.full) return false;
    const last = this.times.length ? this.times[this.times.length - 1] : -Infinity;
    if (!(timeMs > last)) return true;
    const per = this.exprNames.length + 18;
    if ((this.duration + 1 / this.fps) * this.fps * per > MAX_RECORD_VALUES) { this.full = true; return false; }
    this.times.push(timeMs);
    this.frames.push({ expr: Float32Array.from(params.expr), pose: Float32Array.from(params.pose), translation: Float32Array.from(params.translation) });
    return true;
  }

  /** The recording as a lam-motion object (null when nothing was recorded). */
  toMotion(source = 'webcam') {
    const n = this.frames.length;
    if (n === 0) return null;
    const k = this.exprNames.length, nj = FLAME_JOINTS.length;
    const t0 = this.times[0];
    const count = Math.max(1, Math.floor(((this.times[n - 1] - t0) / 1000) * this.fps + 1e-9) + 1);
    const used = new Uint8Array(k);
    for (const f of this.frames) for (let c = 0; c < k; c++) if (f.expr[c] !== 0) used[c] = 1;
    const keep = [];
    for (let c = 0; c < k; c++) if (used[c]) keep.push(c);
    const channels = new Float32Array(count * keep.length), pose = new Float32Array(count * nj * 3), translation = new Float32Array(count * 3);
    let j = 0;
    for (let f = 0; f < count; f++) {
      const t = t0 + (f / this.fps) * 1000;
      while (j + 1 < n - 1 && this.times[j + 1] <= t) j++;
      const a = this.frames[j], b = this.frames[Math.min(j + 1, n - 1)];
      const ta = this.times[j], tb = this.times[Math.min(j + 1, n - 1)];
      const w = tb > ta ? Math.max(0, Math.min(1, (t - ta) / (tb - ta))) : 0;
      keep.forEach((c, i) => { channels[f * keep.length + i] = a.expr[c] + w * (b.expr[c] - a.expr[c]); });
      for (let j = 0; j < nj; j++) {
        const r = this.fromRig[j] * 3;
        if (r < 0) continue;
        for (let i = 0; i < 3; i++) pose[(f * nj + j) * 3 + i] = a.pose[r + i] + w * (b.pose[r + i] - a.pose[r + i]);
      }
      for (let i = 0; i < 3; i++) translation[f * 3 + i] = a.translation[i] + w * (b.translation[i] - a.translation[i]);
    }
    return {
      format: 'lam-motion', version: 1, fps: this.fps, frames: count,
      channel_names: keep.map((c) => this.exprNames[c]), joint_names: FLAME_JOINTS.slice(),
      channels: floatsToBase64(channels), pose: floatsToBase64(pose), translation: floatsToBase64(translation),
      source,
    };
  }
}
