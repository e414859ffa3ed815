// The main thread's side of the deformation: sends frame requests to the worker (or runs them inline when
// a Worker cannot be created), keeps at most one request in flight and only the latest one waiting, and
// recycles the transferred buffers so that no frame allocates.

import { describeError, ViewerError } from './errors.js';
import { DeformSortHandler } from './deform_sort.js';
import { TEX_WIDTH, texelBuffer, textureRows } from './texels.js';

/* global __LAM_WORKER_SOURCE__ */
function createWorker() {
  if (typeof Worker === 'undefined') return null;
  try {
    if (typeof __LAM_WORKER_SOURCE__ === 'string') {
      // the bundled worker has no imports or exports: a classic worker, which every WebGL2 browser runs
      const url = URL.createObjectURL(new Blob([__LAM_WORKER_SOURCE__], { type: 'text/javascript' }));
      return new Worker(url);
    }
    return new Worker(new URL('./deform_worker.js', import.meta.url), { type: 'module' });
  } catch {
    return null; // a page's CSP may forbid blob: workers: run inline
  }
}

export class DeformClient {
  /** @param {object} avatar the viewer's avatar structure; @param {{worker?: boolean}} options */
  constructor(avatar, { worker = true } = {}) {
    this.avatar = avatar;
    this.n = avatar.n;
    this.worker = worker ? createWorker() : null;
    this.inline = this.worker ? null : new DeformSortHandler();
    this.pool = [];
    this.orders = [];
    this.nextId = 1;
    this.inFlight = null;
    this.pending = null;
  }

  get mode() {
    return this.worker ? 'worker' : 'main thread';
  }

  async init() {
    const msg = { type: 'init', avatar: this.avatar };
    if (this.inline) {
      const r = this.inline.handle(msg).message;
      if (r.type === 'error') throw new ViewerError(r.message);
      return;
    }
    await new Promise((resolve, reject) => {
      this.worker.onmessage = (e) => {
        if (e.data.type === 'ready') resolve();
        else if (e.data.type === 'error') reject(new ViewerError(e.data.message));
      };
      this.worker.onerror = (e) => reject(new ViewerError(`the deformation worker failed: ${e.message || 'unknown error'}`));
      this.worker.postMessage(msg);
    }).catch((err) => {
      // a worker that cannot start (module workers unsupported, CSP) falls back to the main thread
      if (err instanceof ViewerError && !/worker failed/.test(err.message)) throw err;
      this.worker.terminate();
      this.worker = null;
      this.inline = new DeformSortHandler();
      const r = this.inline.handle(msg).message;
      if (r.type === 'error') throw new ViewerError(r.message);
    });
    this.worker.onmessage = (e) => this._onResult(e.data);
    this.worker.onerror = (e) => this._fail(new ViewerError(`the deformation worker failed: ${e.message || 'unknown error'}`));
  }

  _buffers(withPose) {
    const order = this.orders.pop() ?? new Uint32Array(textureRows(this.n) * TEX_WIDTH);
    if (!withPose) return { order, means: null, quats: null };
    const b = this.pool.pop() ?? { means: texelBuffer(this.n), quats: texelBuffer(this.n) };
    return { order, ...b };
  }

  /** Give back the buffers of a result once they are uploaded. */
  release(result) {
    if (result.order) this.orders.push(result.order);
    if (result.means) this.pool.push({ means: result.means, quats: result.quats });
  }

  /**
   * Ask for a frame: params ({expr, pose, translation}) or null to re-sort the last centres for `view`
   * (4x4 row-major world->camera). Resolves with {deformed, means, quats, order, deformMs, sortMs}; a
   * request superseded by a newer one before it started resolves with null.
   */
  request(params, view) {
    return new Promise((resolve, reject) => {
      const req = { params, view: Float64Array.from(view), resolve, reject };
      if (this.pending) {
        // merge: keep the newer parameters, or the older ones if the newer request only re-sorts
        if (!params && this.pending.params) req.params = this.pending.params;
        this.pending.resolve(null);
      }
      this.pending = req;
      this._pump();
    });
  }

  _pump() {
    if (this.inFlight || !this.pending) return;
    const req = this.pending;
    this.pending = null;
    const bufs = this._buffers(!!req.params);
    const msg = { type: 'frame', id: this.nextId++, params: req.params, view: req.view, ...bufs };
    this.inFlight = req;
    if (this.inline) {
      const r = this.inline.handle(msg).message;
      queueMicrotask(() => this._onResult(r));
    } else {
      const transfer = [bufs.order.buffer];
      if (bufs.means) transfer.push(bufs.means.buffer, bufs.quats.buffer);
      try {
        this.worker.postMessage(msg, transfer);
      } catch (err) {
        this.inFlight = null;
        req.reject(new ViewerError(describeError(err)));
      }
    }
  }

  _onResult(r) {
    const req = this.inFlight;
    this.inFlight = null;
    if (req) {
      if (r.type === 'error') req.reject(new ViewerError(r.message));
      else req.resolve(r);
    }
    this._pump();
  }

  _fail(err) {
    const req = this.inFlight;
    this.inFlight = null;
    if (req) req.reject(err);
    if (this.pending) { this.pending.reject(err); this.pending = null; }
  }

  dispose() {
    if (this.worker) this.worker.terminate();
    this.worker = null;
    if (this.pending) this.pending.resolve(null);
    this.pending = null;
  }
}
