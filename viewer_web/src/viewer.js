// LamViewer: one avatar in one element. The DOM and WebGL side: its elements and style, the deformation
// (worker), the WebGL2 renderer, the camera and its controls, readable errors in place of the picture when
// something fails. What drives the avatar each frame is param_source.js (manual > live > motion > idle);
// when frames are asked for, shown and at what resolution is frame_loop.js.
//
//   const v = new LamViewer(document.querySelector('#box'));
//   await v.load('avatar.lam');          // URL, File/Blob, ArrayBuffer, or an avatar structure
//   await v.loadMotion('talk.json');     // lam-motion or ARKit JSON; v.play(), v.pause(), v.seek(s)
//   v.setParams({expr: {expr_00: 1}, pose: {jaw: [0.2, 0, 0]}});   // manual parameters (null: back to motion/idle)

import { canonicalMeans, checkAvatar } from './avatar.js';
import { boundingSphere, Camera, DEFAULT_FOV_DEG, framingDistance } from './camera.js';
import { OrbitControls } from './controls.js';
import { DeformClient } from './deform_client.js';
import { describeError, ViewerError } from './errors.js';
import { SplatRenderer } from './gl/renderer.js';
import { loadAvatar, loadMotion } from './loader.js';
import { FrameLoop } from './frame_loop.js';
import { parseMotionObject } from './motion.js';
import { ParamSource } from './param_source.js';

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
    this.client = null;          // DeformClient of the avatar
    this.sphere = null;          // bounding sphere of the avatar's canonical centres (framing)
    this.fixedCamera = null;     // setCamera's camera, or null for the orbit
    this.renderer = null;
    this.controls = null;
    this.source = new ParamSource({ idle: this.options.idle });
    this.loop = new FrameLoop({
      requestFrame: (cb) => requestAnimationFrame(cb),
      cancelFrame: (handle) => cancelAnimationFrame(handle),
      clock: this.source.player,
      loaded: () => !!this.avatar,
      animating: () => this.animating,
      keepAlive: () => !!this.options.fps,
      canAdapt: () => !this.fixedCamera,
      request: (now, deform) => this._request(now, deform),
      draw: (frame) => { this._upload(frame.result); this._draw(this.fixedCamera ? frame.camera : this.camera()); },
      drawn: () => {
        if (this.options.fps) this._showFps();
        this.dispatchEvent(new CustomEvent('frame', { detail: { time: this.source.player.time } }));
      },
      discard: (frame) => this.client.release(frame.result),
      fail: (err) => this._showError(err),
    }, {
      resolution: { adaptive: this.options.adaptive, maxPixelRatio: this.options.maxPixelRatio, maxPixels: this.options.maxPixels },
      hidden: doc.hidden,
    });
    this._stats = { deformMs: 0, sortMs: 0, uploadMs: 0, drawMs: 0, mode: '' };
    this._onVisibility = () => this.loop.setHidden(doc.hidden);   // the motion clock stops while hidden
    this._resize = null;
    const transparent = this.options.background === 'transparent';
    try {
      this.renderer = new SplatRenderer(this.canvas, {
        background: transparent ? [0, 0, 0] : this.options.background, transparent,
        preserveDrawingBuffer: !!this.options.preserveDrawingBuffer,
      });
    } catch (err) {
      this._showError(err);
      return;
    }
    this.canvas.addEventListener('webglcontextlost', (e) => {
      e.preventDefault();
      this._showError(new ViewerError('the graphics context was lost (too many WebGL pages?): reload the page'));
    });
    if (this.options.controls) {
      this.controls = new OrbitControls(this.canvas, { distance: 1, onChange: () => this.loop.invalidate('view') });
    }
    doc.addEventListener('visibilitychange', this._onVisibility);
    if (typeof ResizeObserver !== 'undefined') {
      this._resize = new ResizeObserver(() => this.loop.invalidate('view'));
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
    const binding = this.source.setRig(
      { exprNames: avatar.exprNames, jointNames: avatar.jointNames, nJoints: avatar.parents.length }, performance.now());
    if (binding) this._motionEvent(binding);
    this._stats.mode = client.mode;
    this._setMessage('');
    this.loop.invalidate();
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
      return this.source.binding;
    } catch (err) {
      this._notice(describeError(err), true);
      throw err;
    }
  }

  /** A parsed motion (or null: none); bound to the avatar's channels now or when one is loaded. */
  setMotion(motion) {
    const binding = this.source.setMotion(motion);
    if (binding) this._motionEvent(binding);
    this.loop.invalidate();
  }

  _motionEvent(binding) {
    const motion = this.source.motion;
    this.dispatchEvent(new CustomEvent('motion', {
      detail: { source: motion.source, fps: motion.fps, frames: motion.nFrames, duration: binding.duration, unmapped: binding.unmapped },
    }));
  }

  // ---------------------------------------------------------------------------------------------- control

  play() { this.loop.play(); }
  pause() { this.loop.pause(); }
  seek(seconds) { this.loop.seek(seconds); }
  get playing() { return this.source.player.playing; }
  get time() { return this.source.player.time; }
  get duration() { return this.source.player.duration; }

  /**
   * Manual parameters, overriding the motion and the idle animation (null to go back). expr: array in the
   * rig's channel order or {name: value}; pose: array of J*3 axis-angle values or {jointName: [x, y, z]};
   * translation: [x, y, z] metres. Returns the names it could not map.
   */
  setParams(p) {
    const unknown = this.source.setManual(p);
    this.loop.invalidate();
    return unknown;
  }

  /**
   * Live parameters (the webcam solver's), in the rig's own layout: {expr: K values, pose: J*3 axis-angle,
   * translation: 3}; copied. They override the motion and the idle animation until setLive(null); manual
   * parameters (setParams) still take precedence.
   */
  setLive(p) {
    if (this.source.setLive(p)) this.loop.invalidate();
  }

  /** The live parameters (setLive), or null. */
  get live() { return this.source.live; }

  /** A fixed camera ({width, height, fx, fy, cx, cy, world_to_camera} or a Camera), or null for the orbit. */
  setCamera(cam) {
    this.fixedCamera = cam == null ? null : cam instanceof Camera ? cam : Camera.fromJSON(cam);
    this.loop.invalidate('view');
  }

  resetView() {
    this.fixedCamera = null;
    if (this.controls) this.controls.reset();
    this.loop.invalidate();
  }

  showFps(on = true) {
    this.fpsBox.hidden = !on;
    this.options.fps = on;
    this.loop.schedule();
  }

  /** Timings of the last frame (ms) and where deformation runs. */
  get stats() { return { ...this._stats, fps: this.loop.fps.fps }; }

  // ---------------------------------------------------------------------------------------------- frames

  /** The camera for the current canvas size and orbit. */
  camera() {
    if (this.fixedCamera) return this.fixedCamera;
    const r = this.root.getBoundingClientRect();
    const [w, h] = this.loop.resolution.pixelSize(Math.max(1, r.width), Math.max(1, r.height), globalThis.devicePixelRatio);
    const s = this.sphere ?? { centre: [0, 0, 0], radius: 0.15 };
    const c = this.controls ?? { yaw: 0, pitch: 0, distance: 1 };
    const d = c.distance * framingDistance(s.radius, DEFAULT_FOV_DEG, w, h);
    return Camera.orbit(s.centre, d, c.yaw, c.pitch, DEFAULT_FOV_DEG, w, h);
  }

  /** The parameters of the frame at `now` (manual, else live, else the motion, else idle, else neutral). */
  currentParams(now = performance.now()) {
    return this.source.paramsAt(now);
  }

  get animating() {
    return !!this.avatar && this.source.animating;
  }

  /** Deform, sort and draw the current state now; resolves when drawn (for tests and stills). */
  async renderNow() {
    if (!this.avatar) throw new ViewerError('renderNow: no avatar loaded');
    const gen = this.loop.supersede();
    const cam = this.camera();
    const params = this.currentParams();
    const copy = { expr: Float32Array.from(params.expr), pose: Float32Array.from(params.pose), translation: Float32Array.from(params.translation) };
    let r;
    do r = await this.client.request(copy, cam.worldToCamera); while (r === null);
    if (!this.loop.isCurrent(gen)) { this.client.release(r); return this.stats; }  // a newer renderNow superseded it
    this.loop.markDrawn();
    this._upload(r);
    this._draw(cam);
    return this.stats;
  }

  /** The canvas pixels {width, height, data: RGBA bytes, rows top to bottom}. */
  readPixels() {
    return this.renderer.readPixels();
  }

  /** The frame loop's request: the camera now, the parameters if the avatar must be deformed again. */
  _request(now, deform) {
    const cam = this.camera();
    const params = deform ? this.currentParams(now) : null;
    return this.client.request(params, cam.worldToCamera).then((r) => r && { result: r, camera: cam });
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
    this.fpsBox.textContent = `${this.loop.fps.fps.toFixed(0)} fps  ${this.avatar.n.toLocaleString('en')} splats  ${c.width}x${c.height}\n`
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
    this.loop.dispose();
    this._resize?.disconnect();
    this.container.ownerDocument.removeEventListener('visibilitychange', this._onVisibility);
    this.controls?.dispose();
    this.client?.dispose();
    this.renderer?.dispose();
    this.root.remove();
  }
}
