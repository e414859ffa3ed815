// LamViewer: one avatar in one element. Ties together the deformation (worker), the WebGL2 renderer, the
// camera and its controls, the motion player and the idle animation, and shows readable errors in place
// of the picture when something fails.
//
//   const v = new LamViewer(document.querySelector('#box'));
//   await v.load('avatar.lam');          // URL, File/Blob, ArrayBuffer, or an avatar structure
//   await v.loadMotion('talk.json');     // lam-motion or ARKit JSON; v.play(), v.pause(), v.seek(s)
//   v.setParams({expr: {expr_00: 1}, pose: {jaw: [0.2, 0, 0]}});   // manual parameters (null: back to motion/idle)

import { canonicalMeans, checkAvatar } from './avatar.js';
import { boundingSphere, Camera, DEFAULT_FOV_DEG, framingDistance } from './camera.js';
import { OrbitControls } from './controls.js';
import { DeformClient } from './deform_client.js';
import { zeroParams } from './deform.js';
import { describeError, ViewerError } from './errors.js';
import { SplatRenderer } from './gl/renderer.js';
import { IdleAnimation } from './idle.js';
import { loadAvatar, loadMotion } from './loader.js';
import { bindMotion, parseMotionObject } from './motion.js';
import { MotionPlayer } from './player.js';
import { FpsMeter } from './fps.js';

const STYLE = `
.lam-viewer{position:relative;overflow:hidden;width:100%;height:100%;background:var(--lam-bg,#fff)}
.lam-viewer [hidden]{display:none!important}
.lam-viewer canvas{display:block;width:100%;height:100%;touch-action:none;outline:none}
.lam-viewer .lam-message{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;
 padding:1.5em;text-align:center;font:15px/1.4 system-ui,sans-serif;color:#333;pointer-events:none}
.lam-viewer .lam-message.lam-error{color:#a00;background:rgba(255,245,245,.92)}
.lam-viewer .lam-fps{position:absolute;left:6px;top:6px;font:12px/1.3 ui-monospace,monospace;color:#fff;
 background:rgba(0,0,0,.55);padding:2px 6px;border-radius:4px;pointer-events:none;white-space:pre}
`;

function injectStyle(doc) {
  if (doc.getElementById('lam-viewer-style')) return;
  const s = doc.createElement('style');
  s.id = 'lam-viewer-style';
  s.textContent = STYLE;
  doc.head.appendChild(s);
}

export class LamViewer extends EventTarget {
  /**
   * @param {HTMLElement} container the viewer fills it
   * @param {object} options background ([r, g, b] in [0, 1] or 'transparent'; default white), maxPixelRatio
   *   (2), maxPixels (2.5e6), adaptive (true: lower the resolution while animation runs under 40 fps),
   *   controls (true), idle (true), fps (false), preserveDrawingBuffer, worker (true:
   *   deformation and sorting in a Worker; false: on the main thread)
   */
  constructor(container, options = {}) {
    super();
    this.options = { background: [1, 1, 1], maxPixelRatio: 2, maxPixels: 2.5e6, adaptive: true, controls: true, idle: true, worker: true, fps: false, ...options };
    this.container = container;
    const doc = container.ownerDocument;
    injectStyle(doc);
    this.root = doc.createElement('div');
    this.root.className = 'lam-viewer';
    this.canvas = doc.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.message = doc.createElement('div');
    this.message.className = 'lam-message';
    this.fpsBox = doc.createElement('div');
    this.fpsBox.className = 'lam-fps';
    this.fpsBox.hidden = !this.options.fps;
    this.root.append(this.canvas, this.message, this.fpsBox);
    container.appendChild(this.root);
    this.avatar = null;
    this.client = null;
    this.player = new MotionPlayer();
    this.fps = new FpsMeter();
    this.manual = null;
    this.live = null;
    this.fixedCamera = null;
    this.dirty = false;
    this.busy = false;
    this.ready = null;
    this._raf = 0;
    this._gen = 0;
    this._resolution = 1;   // adaptive: lowered while animation runs under 40 fps (see _adapt)
    this._adaptFrom = 0;
    this._idleStart = performance.now();
    this._stats = { deformMs: 0, sortMs: 0, uploadMs: 0, drawMs: 0, mode: '' };
    const transparent = this.options.background === 'transparent';
    try {
      this.renderer = new SplatRenderer(this.canvas, {
        background: transparent ? [0, 0, 0] : this.options.background, transparent,
        preserveDrawingBuffer: !!this.options.preserveDrawingBuffer,
      });
    } catch (err) {
      this.renderer = null;
      this._showError(err);
      return;
    }
    this.canvas.addEventListener('webglcontextlost', (e) => {
      e.preventDefault();
      this._showError(new ViewerError('the graphics context was lost (too many WebGL pages?): reload the page'));
    });
    if (this.options.controls) {
      this.controls = new OrbitControls(this.canvas, { distance: 1, onChange: () => this._invalidate('view') });
    }
    // pause the motion clock while the page is hidden, resume it when shown again
    this._onVisibility = () => {
      if (doc.hidden) {
        this._resumeOnShow = this.player.playing;
        this.player.pause();
      } else if (this._resumeOnShow) {
        this._resumeOnShow = false;
        this.player.play();
      }
      this._schedule();
    };
    doc.addEventListener('visibilitychange', this._onVisibility);
    if (typeof ResizeObserver !== 'undefined') {
      this._resize = new ResizeObserver(() => this._invalidate('view'));
      this._resize.observe(this.root);
    }
  }

  // ---------------------------------------------------------------------------------------------- loading

  /** Load an avatar: a .lam URL, File/Blob, ArrayBuffer, or an avatar structure (README.md). */
  async load(src) {
    this._setMessage('Loading avatar…');
    try {
      const avatar = src && typeof src === 'object' && 'n' in src && 'parents' in src ? checkAvatar(src) : await loadAvatar(src);
      await this.setAvatar(avatar);
    } catch (err) {
      this._showError(err);
      throw err;
    }
  }

  async setAvatar(avatar) {
    if (!this.renderer) throw new ViewerError('WebGL2 is not available');
    const client = new DeformClient(avatar, { worker: !!this.options.worker });
    await client.init();
    if (this.client) this.client.dispose();
    this.client = client;
    this.avatar = avatar;
    this.renderer.setGaussians(avatar.n, avatar.colors, avatar.opacities, avatar.scales);
    this.sphere = boundingSphere(canonicalMeans(avatar), 3);
    this.params = zeroParams(avatar.exprNames.length, avatar.parents.length);
    this.live = null;
    this.idle = new IdleAnimation(avatar.exprNames, avatar.jointNames);
    this._idleStart = performance.now();
    if (this.motion) this._bindMotion(this.motion);
    this._stats.mode = client.mode;
    this._setMessage('');
    this._invalidate();
    this.dispatchEvent(new CustomEvent('load', { detail: { n: avatar.n, exprNames: avatar.exprNames, jointNames: avatar.jointNames } }));
  }

  /** Load a motion (URL/File of lam-motion or ARKit JSON, or a parsed motion object) and start playing it. */
  async loadMotion(src, { play = true } = {}) {
    try {
      const motion = src && typeof src === 'object' && src.channels instanceof Float32Array ? src
        : src && typeof src === 'object' && !(src instanceof Blob) && !(src instanceof URL) && !ArrayBuffer.isView(src) && !(src instanceof ArrayBuffer)
          ? parseMotionObject(src) : await loadMotion(src);
      this.setMotion(motion);
      if (play) this.play();
      return this.binding;
    } catch (err) {
      this._notice(describeError(err), true);
      throw err;
    }
  }

  setMotion(motion) {
    this.motion = motion;
    if (motion && this.avatar) this._bindMotion(motion);
    else if (!motion) { this.binding = null; this.player.setMotion(null); }
    this._invalidate();
  }

  _bindMotion(motion) {
    this.binding = bindMotion(motion, this.avatar.exprNames, this.avatar.jointNames);
    this.player.setMotion(this.binding);
    this.dispatchEvent(new CustomEvent('motion', {
      detail: { source: motion.source, fps: motion.fps, frames: motion.nFrames, duration: this.binding.duration, unmapped: this.binding.unmapped },
    }));
  }

  // ---------------------------------------------------------------------------------------------- control

  play() { this.player.play(); this._schedule(); }
  pause() { this.player.pause(); this._invalidate(); }
  seek(seconds) { this.player.seek(seconds); this._invalidate(); }
  get playing() { return this.player.playing; }
  get time() { return this.player.time; }
  get duration() { return this.player.duration; }

  /**
   * Manual parameters, overriding the motion and the idle animation (null to go back). expr: array in the
   * rig's channel order or {name: value}; pose: array of J*3 axis-angle values or {jointName: [x, y, z]};
   * translation: [x, y, z] metres. Returns the names it could not map.
   */
  setParams(p) {
    if (p == null) { this.manual = null; this._invalidate(); return []; }
    if (!this.avatar) throw new ViewerError('setParams: no avatar loaded');
    const a = this.avatar, out = zeroParams(a.exprNames.length, a.parents.length), unknown = [];
    const fill = (dst, src, names, width) => {
      if (src == null) return;
      if (Array.isArray(src) || ArrayBuffer.isView(src)) {
        if (src.length !== dst.length) throw new ViewerError(`setParams: expected ${dst.length} values, got ${src.length}`);
        dst.set(src);
      } else {
        for (const [k, v] of Object.entries(src)) {
          const i = names.indexOf(k);
          if (i < 0) { unknown.push(k); continue; }
          if (width === 1) dst[i] = +v; else dst.set(v, i * width);
        }
      }
    };
    fill(out.expr, p.expr, a.exprNames, 1);
    fill(out.pose, p.pose, a.jointNames, 3);
    if (p.translation != null) fill(out.translation, p.translation, ['x', 'y', 'z'], 1);
    for (const arr of [out.expr, out.pose, out.translation]) {
      if (!arr.every(Number.isFinite)) throw new ViewerError('setParams: values must be finite numbers');
    }
    this.manual = out;
    this._invalidate();
    return unknown;
  }

  /**
   * Live parameters (the webcam solver's), in the rig's own layout: {expr: K values, pose: J*3 axis-angle,
   * translation: 3}; copied. They override the motion and the idle animation until setLive(null); manual
   * parameters (setParams) still take precedence.
   */
  setLive(p) {
    if (p == null) {
      if (this.live) { this.live = null; this._invalidate(); }
      return;
    }
    if (!this.avatar) return;
    const a = this.avatar;
    if (p.expr.length !== a.exprNames.length || p.pose.length !== a.parents.length * 3) {
      throw new ViewerError('setLive: the parameters do not fit this avatar');
    }
    this.live ??= zeroParams(a.exprNames.length, a.parents.length);
    this.live.expr.set(p.expr);
    this.live.pose.set(p.pose);
    this.live.translation.set(p.translation);
    this._invalidate();
  }

  /** A fixed camera ({width, height, fx, fy, cx, cy, world_to_camera} or a Camera), or null for the orbit. */
  setCamera(cam) {
    this.fixedCamera = cam == null ? null : cam instanceof Camera ? cam : Camera.fromJSON(cam);
    this._invalidate('view');
  }

  resetView() {
    this.fixedCamera = null;
    if (this.controls) this.controls.reset();
    this._invalidate();
  }

  showFps(on = true) {
    this.fpsBox.hidden = !on;
    this.options.fps = on;
    this._schedule();
  }

  /** Timings of the last frame (ms) and where deformation runs. */
  get stats() { return { ...this._stats, fps: this.fps.fps }; }

  // ---------------------------------------------------------------------------------------------- frames

  /** The camera for the current canvas size and orbit. */
  camera() {
    if (this.fixedCamera) return this.fixedCamera;
    const r = this.root.getBoundingClientRect();
    const cssW = Math.max(1, r.width), cssH = Math.max(1, r.height);
    let dpr = Math.min(globalThis.devicePixelRatio || 1, this.options.maxPixelRatio) * this._resolution;
    const px = cssW * cssH * dpr * dpr;
    if (px > this.options.maxPixels) dpr *= Math.sqrt(this.options.maxPixels / px);
    const w = Math.max(1, Math.round(cssW * dpr)), h = Math.max(1, Math.round(cssH * dpr));
    const s = this.sphere ?? { centre: [0, 0, 0], radius: 0.15 };
    const c = this.controls ?? { yaw: 0, pitch: 0, distance: 1 };
    const d = c.distance * framingDistance(s.radius, DEFAULT_FOV_DEG, w, h);
    return Camera.orbit(s.centre, d, c.yaw, c.pitch, DEFAULT_FOV_DEG, w, h);
  }

  /** The parameters of the frame at `now` (manual, else live, else the motion, else idle, else neutral). */
  currentParams(now = performance.now()) {
    if (this.manual) return this.manual;
    if (this.live) return this.live;
    if (this.binding) return this.player.paramsAt(this.params);
    if (this.options.idle && this.idle) return this.idle.paramsAt(now - this._idleStart, this.params);
    this.params.expr.fill(0); this.params.pose.fill(0); this.params.translation.fill(0);
    return this.params;
  }

  get animating() {
    return !!this.avatar && !this.manual && !this.live && (this.player.playing || (!this.binding && this.options.idle));
  }

  /** Deform, sort and draw the current state now; resolves when drawn (for tests and stills). */
  async renderNow() {
    if (!this.avatar) throw new ViewerError('renderNow: no avatar loaded');
    const gen = ++this._gen;
    this.ready = null;
    const cam = this.camera();
    const params = this.currentParams();
    const copy = { expr: Float32Array.from(params.expr), pose: Float32Array.from(params.pose), translation: Float32Array.from(params.translation) };
    let r;
    do r = await this.client.request(copy, cam.worldToCamera); while (r === null);
    if (gen !== this._gen) { this.client.release(r); return this.stats; }  // a newer renderNow superseded it
    this.ready = null;
    this._upload(r);
    this._draw(cam);
    this.dirty = false;
    this.dirtyParams = false;
    return this.stats;
  }

  /** The canvas pixels {width, height, data: RGBA bytes, rows top to bottom}. */
  readPixels() {
    return this.renderer.readPixels();
  }

  /** Something changed: 'params' (the avatar must be deformed again) or 'view' (only re-sorted). */
  _invalidate(what = 'params') {
    if (what === 'params') this.dirtyParams = true;
    this.dirty = true;
    this._schedule();
  }

  _schedule() {
    if (this._raf || this._disposed) return;
    if (!(this.dirty || this.busy || this.ready || this.animating || this.options.fps)) return;
    this._raf = requestAnimationFrame((t) => this._tick(t));
  }

  _tick(now) {
    this._raf = 0;
    if (!this.avatar || this._disposed || this.container.ownerDocument.hidden) return;
    this.player.tick(now);
    if (this.ready) {
      const { result, camera } = this.ready;
      this.ready = null;
      this._upload(result);
      this._draw(this.fixedCamera ? camera : this.camera());
      this.fps.frame(now);
      this._adapt(now);
      if (this.options.fps) this._showFps();
      this.dispatchEvent(new CustomEvent('frame', { detail: { time: this.player.time } }));
    }
    if (!this.busy && (this.dirty || this.animating)) {
      const cam = this.camera();
      const deform = this.dirtyParams || this.animating;
      const params = deform ? this.currentParams(now) : null;
      this.dirty = false;
      this.dirtyParams = false;
      this.busy = true;
      const gen = this._gen;
      this.client.request(params, cam.worldToCamera).then((r) => {
        this.busy = false;
        if (r && gen === this._gen) this.ready = { result: r, camera: cam };
        else if (r) this.client.release(r);
        this._schedule();
      }, (err) => { this.busy = false; this._showError(err); });
    }
    this._schedule();
  }

  /** Adaptive resolution: while animating, if the frame rate stays under 40 fps for 2 s, draw 15% fewer
   * pixels per axis (down to half the capped device pixel ratio); back up while it stays over 58 fps. */
  _adapt(now) {
    if (!this.options.adaptive || this.fixedCamera || !this.animating) { this._adaptFrom = now; return; }
    if (now - this._adaptFrom < 2000) return;
    this._adaptFrom = now;
    const fps = this.fps.fps;
    if (fps < 40 && this._resolution > 0.5) this._resolution = Math.max(0.5, this._resolution * 0.85);
    else if (fps > 58 && this._resolution < 1) this._resolution = Math.min(1, this._resolution / 0.85);
  }

  _upload(r) {
    const t0 = performance.now();
    if (r.deformed) this.renderer.setPose(r.means, r.quats);
    this.renderer.setOrder(r.order);
    this._stats.uploadMs = performance.now() - t0;
    this._stats.deformMs = r.deformed ? r.deformMs : 0;
    this._stats.sortMs = r.sortMs;
    this.client.release(r);
  }

  _draw(cam) {
    const t0 = performance.now();
    this.renderer.draw(cam);
    this._stats.drawMs = performance.now() - t0;
  }

  _showFps() {
    const s = this._stats;
    const c = this.canvas;
    this.fpsBox.textContent = `${this.fps.fps.toFixed(0)} fps  ${this.avatar.n.toLocaleString('en')} splats  ${c.width}x${c.height}\n`
      + `deform ${s.deformMs.toFixed(1)} ms, sort ${s.sortMs.toFixed(1)} ms (${s.mode})`;
  }

  // ---------------------------------------------------------------------------------------------- messages

  _setMessage(text, isError = false) {
    this.message.textContent = text;
    this.message.classList.toggle('lam-error', isError);
    this.message.hidden = !text;
  }

  _showError(err) {
    const message = describeError(err);
    this._setMessage(message, true);
    this.dispatchEvent(new CustomEvent('error', { detail: { message } }));
  }

  /** A notice that does not hide the picture (e.g. a motion that failed to load): an 'error' event. */
  _notice(message, isError = false) {
    this.dispatchEvent(new CustomEvent(isError ? 'error' : 'notice', { detail: { message } }));
  }

  dispose() {
    this._disposed = true;
    if (this._raf) cancelAnimationFrame(this._raf);
    this._resize?.disconnect();
    this.container.ownerDocument.removeEventListener('visibilitychange', this._onVisibility);
    this.controls?.dispose();
    this.client?.dispose();
    this.renderer?.dispose();
    this.root.remove();
  }
}
