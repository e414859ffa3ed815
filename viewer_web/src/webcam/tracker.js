// Face tracking with MediaPipe Face Mesh (478 landmarks, refineLandmarks on), from the files lam-serve
// serves out of the installed npm package @mediapipe/face_mesh (`mediapipe/` beside the page).
//
// Two places to run it: a Worker (default: MediaPipe's inference and its WebGL work leave the main thread,
// which keeps drawing the avatar) or the main thread (the package's usual way; the fallback where the
// Worker cannot start). Either way one frame is in flight at a time.

/* global __LAM_TRACKER_WORKER_SOURCE__ */
import { ViewerError } from '../errors.js';

export const FACE_MESH_OPTIONS = Object.freeze({ maxNumFaces: 1, refineLandmarks: true, minDetectionConfidence: 0.5, minTrackingConfidence: 0.5 });
// releases that cannot track (their face detector aborts: "RET_CHECK failure ... options_.has_num_classes()")
export const BROKEN_VERSIONS = Object.freeze(['0.4.1657299874']);
export const WORKING_VERSION = '0.4.1633559619';
const INIT_TIMEOUT_MS = 90_000;

/** The package's version as served at `base` (its package.json), with one-line errors. */
export async function servedVersion(base) {
  let res;
  try {
    res = await fetch(`${base}package.json`, { cache: 'no-store' });
  } catch (err) {
    throw new ViewerError(`face tracking files cannot be fetched from ${base} (${err.message || err})`);
  }
  if (!res.ok) {
    throw new ViewerError(`face tracking files are not served here (${base}package.json: HTTP ${res.status}); `
      + 'lam-serve serves them from the npm package @mediapipe/face_mesh: run `npm ci` (make setup does)');
  }
  let version = null;
  try { version = (await res.json()).version ?? null; } catch { /* not JSON */ }
  if (BROKEN_VERSIONS.includes(version)) {
    throw new ViewerError(`the installed @mediapipe/face_mesh ${version} cannot track faces (its face detector aborts); `
      + `install ${WORKING_VERSION} (npm ci does, from package-lock.json)`);
  }
  return version;
}

function createWorker() {
  if (typeof Worker === 'undefined' || typeof OffscreenCanvas === 'undefined') return null;
  try {
    if (typeof __LAM_TRACKER_WORKER_SOURCE__ === 'string') {
      return new Worker(URL.createObjectURL(new Blob([__LAM_TRACKER_WORKER_SOURCE__], { type: 'text/javascript' })));
    }
    return new Worker(new URL('./tracker_worker.js', import.meta.url));   // unbundled (development)
  } catch {
    return null;
  }
}

const scripts = new Map();
function loadScript(src) {
  if (!scripts.has(src)) {
    scripts.set(src, new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.crossOrigin = 'anonymous';
      s.onload = resolve;
      s.onerror = () => { scripts.delete(src); reject(new ViewerError(`cannot load ${src}`)); };
      document.head.appendChild(s);
    }));
  }
  return scripts.get(src);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new ViewerError(`${what} did not finish within ${ms / 1000} s`)), ms);
  })]).finally(() => clearTimeout(timer));
}

export class FaceTracker {
  /** @param {{base: string, worker?: boolean, options?: object}} o base: absolute URL of the package's folder, ending in '/' */
  constructor({ base, worker = true, options = FACE_MESH_OPTIONS }) {
    this.base = base;
    this.wantWorker = worker;
    this.options = { ...options };
    this.worker = null;
    this.mesh = null;
    this.mode = null;
    this.fallbackReason = null;
    this._pending = new Map();
    this._nextId = 1;
  }

  /** True when frames must be given as ImageBitmaps (the Worker), false for video/canvas elements. */
  get wantsBitmap() { return this.mode === 'worker'; }

  async init() {
    this.version = await servedVersion(this.base);
    if (this.wantWorker) {
      try {
        await withTimeout(this._initWorker(), INIT_TIMEOUT_MS, 'starting face tracking in a worker');
        this.mode = 'worker';
        return this;
      } catch (err) {
        this.fallbackReason = err.message || String(err);
        this._killWorker();
      }
    }
    await withTimeout(this._initMain(), INIT_TIMEOUT_MS, 'starting face tracking');
    this.mode = 'main thread';
    return this;
  }

  _initWorker() {
    const w = createWorker();
    if (!w) return Promise.reject(new Error('Workers with OffscreenCanvas are not available'));
    this.worker = w;
    return new Promise((resolve, reject) => {
      w.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'ready') {
          w.onmessage = (ev) => this._onResult(ev.data);
          w.onerror = (ev) => this._failAll(new ViewerError(`face tracking stopped: ${ev.message || 'worker error'}`));
          resolve();
        } else if (m.type === 'error') reject(new Error(m.message));
      };
      w.onerror = (e) => { e.preventDefault?.(); reject(new Error(e.message || 'the tracking worker failed')); };
      w.postMessage({ type: 'init', base: this.base, options: this.options });
    });
  }

  async _initMain() {
    await loadScript(`${this.base}face_mesh.js`);
    if (typeof window.FaceMesh !== 'function') throw new ViewerError('face_mesh.js did not define FaceMesh');
    const mesh = new window.FaceMesh({ locateFile: (f) => this.base + f });
    mesh.setOptions(this.options);
    mesh.onResults((r) => { this._latest = r; });
    await mesh.initialize();
    this.mesh = mesh;
  }

  /** Landmarks of the largest face in `image` ({landmarks: Float32Array(478*3) | null, ms}). An
   * ImageBitmap is transferred (closed) in worker mode. */
  async detect(image) {
    if (this.worker) {
      const id = this._nextId++;
      return new Promise((resolve, reject) => {
        this._pending.set(id, { resolve, reject });
        this.worker.postMessage({ type: 'frame', id, image }, [image]);
      });
    }
    if (!this.mesh) throw new ViewerError('face tracking is not started');
    const t0 = performance.now();
    this._latest = null;
    await this.mesh.send({ image });
    const face = this._latest?.multiFaceLandmarks?.[0];
    let landmarks = null;
    if (face && face.length >= 478) {
      landmarks = new Float32Array(478 * 3);
      for (let i = 0; i < 478; i++) { landmarks[i * 3] = face[i].x; landmarks[i * 3 + 1] = face[i].y; landmarks[i * 3 + 2] = face[i].z; }
    }
    return { landmarks, ms: performance.now() - t0 };
  }

  _onResult(m) {
    const p = this._pending.get(m.id);
    if (!p) return;
    this._pending.delete(m.id);
    if (m.type === 'error') p.reject(new ViewerError(`face tracking failed: ${m.message}`));
    else p.resolve({ landmarks: m.landmarks, ms: m.ms });
  }

  _failAll(err) {
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
  }

  _killWorker() {
    if (this.worker) { this.worker.terminate(); this.worker = null; }
  }

  dispose() {
    this._failAll(new ViewerError('face tracking was stopped'));
    this._killWorker();
    this.mesh?.close?.();
    this.mesh = null;
  }
}
