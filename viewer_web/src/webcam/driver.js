// Live webcam driving of a LamViewer: the camera (getUserMedia), face tracking (tracker.js, in a Worker
// where possible), the solver (solver.js) and the viewer's live parameters, with readable states:
//   off -> starting (permission) -> loading (MediaPipe) -> calibrating -> tracking <-> noface, or error.
// A video file drives it the same way (startVideo: "Use video"): the video plays in the preview, its first
// second calibrates, its own clock (the frames' media time) times the solver, as lam-track times a video;
// at its end the driver stops and says so (an 'ended' event: the page saves a running recording).
// Frames are taken as the camera delivers them (requestVideoFrameCallback where the browser has it, else
// polled every animation frame), one in flight at a time: tracking never queues up behind the renderer.
// When no face is seen for NO_FACE_MS the avatar goes back to its motion or idle animation.
//
//   const cam = new WebcamDriver(viewer, { assetBase: 'mediapipe/', preview: someElement });
//   cam.addEventListener('status', (e) => show(e.detail.message));
//   await cam.start();  cam.calibrate();  cam.startRecording();  const motion = cam.stopRecording();

import { describeError, ViewerError } from '../errors.js';
import { buildLandmarkModel } from './landmark_model.js';
import { FaceSolver } from './solver.js';
import { FaceTracker } from './tracker.js';
import { MotionRecorder } from './recorder.js';
import { readTag } from './frame_tag.js';

export const NO_FACE_MS = 500;
export const MESSAGES = Object.freeze({
  starting: 'Starting the camera… (allow the camera if the browser asks)',
  loading: 'Loading face tracking…',
  calibrating: 'Calibrating: look at the camera with a neutral face for a second…',
  tracking: 'Tracking your face',
  noface: 'No face in view: the avatar idles until it sees a face.',
  insecure: 'The camera is only available on a secure page: open this viewer as http://localhost:… or over https.',
  unsupported: 'This browser cannot use a camera (navigator.mediaDevices.getUserMedia is missing).',
  nocamera: 'No camera found: connect a camera (or free one) and press Use camera again.',
  denied: 'Camera permission was denied: allow the camera for this page (the camera icon in the address bar) and press Use camera again.',
  busy: 'The camera could not be started: another application may be using it.',
  ended: 'The camera stopped delivering video.',
  videoCalibrating: 'Calibrating on the video\'s first second (a neutral face there works best)…',
  videoTracking: 'Following the face in the video',
  videoNoface: 'No face in the video here: the avatar idles until one shows.',
  videoEnded: 'The video ended.',
});

function videoError(video) {
  const code = video?.error?.code;
  if (code === 4 || code === 3) return 'This browser cannot play that video (its format or codec): try an mp4 (H.264) or a webm.';
  return `The video could not be opened${video?.error?.message ? `: ${video.error.message}` : '.'}`;
}

function cameraError(err) {
  switch (err?.name) {
    case 'NotFoundError': case 'OverconstrainedError': case 'DevicesNotFoundError': return MESSAGES.nocamera;
    case 'NotAllowedError': case 'PermissionDeniedError': case 'SecurityError': return MESSAGES.denied;
    case 'NotReadableError': case 'TrackStartError': case 'AbortError': return MESSAGES.busy;
    default: return `The camera could not be started: ${describeError(err)}`;
  }
}

export class WebcamDriver extends EventTarget {
  /**
   * @param {import('../viewer.js').LamViewer} viewer
   * @param {object} o assetBase ('mediapipe/': where lam-serve serves @mediapipe/face_mesh), worker (true:
   *   track in a Worker), preview (an element to show the mirrored camera image in), solver (FaceSolver
   *   options), frameTag (test clips only: read each frame's index, see frame_tag.js), record fps (30)
   */
  constructor(viewer, { assetBase = 'mediapipe/', worker = true, preview = null, solver = {}, frameTag = false, fps = 30 } = {}) {
    super();
    this.viewer = viewer;
    this.options = { assetBase, worker, preview, solver, frameTag, fps };
    this.state = 'off';
    this.message = '';
    this.source = 'camera';     // or 'video' (startVideo)
    this.stream = null;
    this.video = null;
    this.tracker = null;
    this.solver = null;
    this.recorder = null;
    this.log = null;            // tests: {names: [...], entries: []}
    this.calibrationFilter = null;
    this._busy = false;
    this._gen = 0;
    this._lastFace = 0;
    this._frames = [];
    this.stats = { frames: 0, faces: 0, trackMs: 0, solveMs: 0, fps: 0, mode: '' };
  }

  get running() { return this.state !== 'off' && this.state !== 'error'; }

  _status(state, message, error = false) {
    this.state = state;
    this.message = message;
    this.dispatchEvent(new CustomEvent('status', { detail: { state, message, error } }));
  }

  _buildModel(what) {
    const avatar = this.viewer.avatar;
    try {
      if (!avatar) throw new ViewerError('load an avatar first');
      this.model = buildLandmarkModel(avatar);
      return true;
    } catch (err) {
      this._status('error', `This avatar cannot follow a ${what}: ${describeError(err)}`, true);
      return false;
    }
  }

  _message(state) {
    if (this.source !== 'video') return MESSAGES[state];
    return { calibrating: MESSAGES.videoCalibrating, tracking: MESSAGES.videoTracking, noface: MESSAGES.videoNoface }[state] ?? MESSAGES[state];
  }

  /**
   * Drive the avatar from a video file (a File/Blob or a URL): it plays (muted) in the preview, MediaPipe
   * tracks each frame it shows, the first second calibrates. playbackRate < 1 tracks more of its frames on
   * a slow machine. Resolves when frames flow (or with the error state set).
   */
  async startVideo(file, { playbackRate = 1 } = {}) {
    if (this.running) this.stop();
    const gen = ++this._gen;
    this.source = 'video';
    if (!this._buildModel('video')) return;
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    video.className = 'lam-webcam-preview lam-video-file';
    const url = typeof file === 'string' ? file : URL.createObjectURL(file);
    this._objectUrl = typeof file === 'string' ? null : url;
    this.video = video;
    this._status('starting', 'Opening the video…');
    const ok = await new Promise((resolve) => {
      video.addEventListener('loadeddata', () => resolve(true), { once: true });
      video.addEventListener('error', () => resolve(false), { once: true });
      video.src = url;
      video.load();
    });
    if (gen !== this._gen) return;
    if (!ok || !(video.videoWidth > 0)) {
      const msg = ok ? 'That file holds no video picture.' : videoError(video);
      this._teardown();
      this._status('error', msg, true);
      return;
    }
    if (this.options.preview) this.options.preview.replaceChildren(video);
    video.addEventListener('ended', () => {
      if (gen !== this._gen) return;
      this.dispatchEvent(new CustomEvent('ended'));
      this.stop();
      this._status('off', MESSAGES.videoEnded);
    });
    if (!(await this._startTracking(gen))) return;
    // the first frame is tracked before the video plays: MediaPipe's first run (its warm-up) can take
    // seconds, which would otherwise eat the calibration second
    await this._frame(gen, { mediaTime: video.currentTime }, false);
    if (gen !== this._gen) return;
    video.playbackRate = playbackRate;
    try {
      await video.play();
    } catch (err) {
      if (gen === this._gen) { this._teardown(); this._status('error', videoError(video) + ` (${describeError(err)})`, true); }
      return;
    }
    this._next(gen);
  }

  /** MediaPipe and the solver (calibrating); false when it failed (the error state is set). */
  async _startTracking(gen) {
    this._status('loading', MESSAGES.loading);
    try {
      const base = new URL(this.options.assetBase, document.baseURI).href;
      this.tracker = await new FaceTracker({ base, worker: this.options.worker }).init();
    } catch (err) {
      if (gen === this._gen) { this._teardown(); this._status('error', `Face tracking could not start: ${describeError(err)}`, true); }
      return false;
    }
    if (gen !== this._gen) return false;
    this.stats.mode = this.tracker.mode;
    this.solver = new FaceSolver(this.model, this.options.solver);
    this.solver.beginCalibration();
    this._status('calibrating', this._message('calibrating'));
    this._lastFace = this._clock(null);
    return true;
  }

  /** Ask for the camera, start tracking; resolves when frames flow (or with the error state set). */
  async start() {
    if (this.running) return;
    const gen = ++this._gen;
    this.source = 'camera';
    if (!this._buildModel('webcam')) return;
    if (!globalThis.isSecureContext) { this._status('error', MESSAGES.insecure, true); return; }
    if (!navigator.mediaDevices?.getUserMedia) { this._status('error', MESSAGES.unsupported, true); return; }
    this._status('starting', MESSAGES.starting);
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (err) {
      if (gen === this._gen) this._status('error', cameraError(err), true);
      return;
    }
    if (gen !== this._gen) { stream.getTracks().forEach((t) => t.stop()); return; }
    this.stream = stream;
    stream.getVideoTracks()[0]?.addEventListener('ended', () => { if (this.running) { this._teardown(); this._status('error', MESSAGES.ended, true); } });
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    video.srcObject = stream;
    video.className = 'lam-webcam-preview';
    this.video = video;
    if (this.options.preview) this.options.preview.replaceChildren(video);
    try {
      await video.play();
    } catch (err) {
      this._teardown();
      this._status('error', cameraError(err), true);
      return;
    }
    if (!(await this._startTracking(gen))) return;
    this._next(gen);
  }

  /** Stop the camera and tracking; the avatar goes back to its motion or idle animation. */
  stop() {
    this._gen++;
    this._teardown();
    this.viewer.setLive(null);
    this._status('off', '');
  }

  /** Take the next second of frames as the user's neutral face. */
  calibrate() {
    if (!this.solver) return;
    this.solver.beginCalibration();
    this._status('calibrating', this._message('calibrating'));
  }

  startRecording() {
    if (!this.model) throw new ViewerError('start the camera first');
    this.recorder = new MotionRecorder(this.model.exprNames, this.model.jointNames, { fps: this.options.fps });
  }

  /** Stop recording; returns the lam-motion object (null when nothing was recorded). */
  stopRecording(source = 'webcam') {
    const r = this.recorder;
    this.recorder = null;
    return r ? r.toMotion(source) : null;
  }

  get recording() { return this.recorder !== null; }

  _teardown() {
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.video) { this.video.pause(); this.video.srcObject = null; this.video.removeAttribute('src'); this.video.remove(); }
    this.video = null;
    if (this._objectUrl) URL.revokeObjectURL(this._objectUrl);
    this._objectUrl = null;
    this.tracker?.dispose();
    this.tracker = null;
    this._busy = false;
  }

  _next(gen) {
    const v = this.video;
    if (!v || gen !== this._gen) return;
    if (typeof v.requestVideoFrameCallback === 'function') v.requestVideoFrameCallback((now, meta) => this._frame(gen, meta));
    else requestAnimationFrame(() => this._frame(gen, null));
  }

  /** The solver's clock (ms): the camera's wall clock, or a video file's own time (the frame's media time). */
  _clock(meta) {
    if (this.source !== 'video') return performance.now();
    return 1000 * (meta?.mediaTime ?? this.video?.currentTime ?? 0);
  }

  async _frame(gen, meta, next = true) {
    if (gen !== this._gen || !this.video) return;
    const v = this.video, w = v.videoWidth, h = v.videoHeight;
    if (this._busy || !(w > 0 && h > 0) || v.readyState < 2) { if (next) this._next(gen); return; }
    this._busy = true;
    const t = this._clock(meta);
    let tag = null, image = v;
    try {
      if (this.tracker.wantsBitmap) {
        image = await createImageBitmap(v);
        if (this.options.frameTag) tag = readTag(image, h);
      } else if (this.options.frameTag) {
        this._canvas ??= document.createElement('canvas');
        this._canvas.width = w; this._canvas.height = h;
        this._canvas.getContext('2d').drawImage(v, 0, 0, w, h);
        image = this._canvas;
        tag = readTag(image, h);
      }
      if (gen !== this._gen) { image.close?.(); return; }
      const r = await this.tracker.detect(image);
      if (gen !== this._gen) return;
      this._handle(r, w, h, t, tag);
    } catch (err) {
      if (gen === this._gen) { this._teardown(); this.viewer.setLive(null); this._status('error', `Face tracking stopped: ${describeError(err)}`, true); }
      return;
    } finally {
      this._busy = false;
    }
    if (next) this._next(gen);
  }

  _handle({ landmarks, ms }, w, h, t, tag) {
    const s = this.stats;
    s.frames++;
    s.trackMs = ms;
    this._frames.push(t);
    while (this._frames.length > 1 && t - this._frames[0] > 2000) this._frames.shift();
    s.fps = this._frames.length > 1 ? (1000 * (this._frames.length - 1)) / (t - this._frames[0]) : 0;
    const r = landmarks ? this.solver.update(landmarks, w, h, t, { calibrationFrame: this.calibrationFilter ? this.calibrationFilter(tag) : true }) : null;
    if (!r) {
      if (t - this._lastFace > NO_FACE_MS && this.state !== 'noface') {
        this.viewer.setLive(null);
        this.solver.lost();
        this._status('noface', this._message('noface'));
      }
      this._logEntry(tag, t, ms, null, landmarks);
      return;
    }
    s.faces++;
    s.solveMs = r.solveMs;
    this._lastFace = t;
    if (r.calibrating) { if (this.state !== 'calibrating') this._status('calibrating', this._message('calibrating')); }
    else if (this.state !== 'tracking') this._status('tracking', this._message('tracking'));
    this.viewer.setLive(r.params);
    if (this.recorder && r.calibrated && !r.calibrating && !this.recorder.add(t, r.params)) {
      this.dispatchEvent(new CustomEvent('recordingfull'));
    }
    this._logEntry(tag, t, ms, r, landmarks);
  }

  _logEntry(tag, t, ms, r, landmarks) {
    const log = this.log;
    if (!log) return;
    const e = { tag, t, trackMs: ms, face: !!r };
    if (log.raw && landmarks) e.landmarks = Array.from(landmarks);
    if (r) {
      e.solveMs = r.solveMs;
      e.calibrated = r.calibrated && !r.calibrating;
      e.pose = Array.from(r.params.pose);
      e.expr = (log.names || []).map((n) => r.params.expr[this.model.exprNames.indexOf(n)] ?? null);
    }
    log.entries.push(e);
  }
}
