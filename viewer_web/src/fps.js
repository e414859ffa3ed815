// Frames per second over the last second of drawn frames.
export class FpsMeter {
  constructor() { this.times = []; this.fps = 0; }
  frame(now) {
    this.times.push(now);
    while (this.times.length > 2 && now - this.times[0] > 1000) this.times.shift();
    const span = now - this.times[0];
    this.fps = span > 0 ? ((this.times.length - 1) * 1000) / span : 0;
  }
}
