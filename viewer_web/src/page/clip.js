// A short video clip of what the viewer shows: MediaRecorder on the canvas's stream (WebM where the browser
// records it, MP4 on Safari), stopped by the user or at the time limit.

const TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4'];

export class ClipRecorder extends EventTarget {
  /** @param {HTMLCanvasElement} canvas  @param {{fps?: number, maxSeconds?: number}} options */
  constructor(canvas, { fps = 30, maxSeconds = 30 } = {}) {
    super();
    this.canvas = canvas;
    this.fps = fps;
    this.maxSeconds = maxSeconds;
    this.recorder = null;
    this.started = 0;
  }

  static get supported() {
    return typeof MediaRecorder !== 'undefined' && typeof HTMLCanvasElement.prototype.captureStream === 'function';
  }

  get recording() { return !!this.recorder; }
  get seconds() { return this.recorder ? (performance.now() - this.started) / 1000 : 0; }

  /** Start recording; throws if the browser cannot. */
  start() {
    if (!ClipRecorder.supported) throw new Error('this browser cannot record the canvas (no MediaRecorder)');
    const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || '';
    const stream = this.canvas.captureStream(this.fps);
    const rec = new MediaRecorder(stream, mimeType ? { mimeType, videoBitsPerSecond: 4e6 } : {});
    const chunks = [];
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    rec.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      const type = rec.mimeType || mimeType || 'video/webm';
      const blob = new Blob(chunks, { type });
      const ext = type.startsWith('video/mp4') ? 'mp4' : 'webm';
      this.dispatchEvent(new CustomEvent('clip', { detail: { blob, ext, seconds: this._length } }));
    };
    rec.start(250);
    this.recorder = rec;
    this.started = performance.now();
    this._timer = setTimeout(() => this.stop(), this.maxSeconds * 1000);
  }

  /** Stop; the 'clip' event brings {blob, ext, seconds}. */
  stop() {
    if (!this.recorder) return;
    clearTimeout(this._timer);
    this._length = this.seconds;
    const rec = this.recorder;
    this.recorder = null;
    rec.stop();
  }
}
