// The motion clock: play / pause / seek over a bound motion (motion.js), looping, with the frame rate taken
// from the file. Time only advances while playing and the page is visible (the viewer pauses the clock
// when the page is hidden so that a motion resumes where it was).

export class MotionPlayer {
  constructor() {
    this.binding = null;
    this.playing = false;
    this.time = 0;
    this.loop = true;
    this._last = null;
  }

  setMotion(binding) {
    this.binding = binding;
    this.time = 0;
    this._last = null;
  }

  get duration() {
    return this.binding ? this.binding.duration : 0;
  }

  play() {
    if (!this.binding) return;
    if (!this.loop && this.time >= this.duration) this.time = 0;
    this.playing = true;
    this._last = null;
  }

  pause() {
    this.playing = false;
    this._last = null;
  }

  seek(seconds) {
    this.time = Math.max(0, Math.min(this.duration, seconds));
    this._last = null;
  }

  /** Advance to wall-clock `nowMs`; returns the current time in seconds. */
  tick(nowMs) {
    if (this.playing && this.binding) {
      if (this._last !== null) {
        this.time += Math.min(0.25, (nowMs - this._last) / 1000); // a long stall does not jump ahead
        if (this.time >= this.duration) {
          if (this.loop) this.time %= this.duration;
          else { this.time = this.duration; this.playing = false; }
        }
      }
      this._last = nowMs;
    }
    return this.time;
  }

  paramsAt(out) {
    return this.binding.paramsAt(Math.min(this.time, this.duration - 1e-9), out);
  }
}
