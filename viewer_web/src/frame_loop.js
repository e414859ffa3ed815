// The viewer's frame loop, without DOM or WebGL: when to ask for a frame (something changed, or the avatar
// animates), at most one deformation in flight, showing the frame that came back on the next display frame,
// the motion clock's play / pause / seek and its pause while the page is hidden, the frame rate, and the
// adaptive resolution. The display's frame callback (requestAnimationFrame) and everything that touches the
// avatar, the worker or the GPU are injected, so Node drives it with a fake clock
// (tests/js/frame_loop.test.mjs).

import { FpsMeter } from './fps.js';

/** Adaptive resolution: while animating, if the frame rate stays under `lowFps` for `periodMs`, draw `step`
 * times the pixels per axis (down to `min` of the capped device pixel ratio); back up while it stays over
 * `highFps`. */
export const ADAPT = Object.freeze({ periodMs: 2000, lowFps: 40, highFps: 58, step: 0.85, min: 0.5 });

export class AdaptiveResolution {
  /** @param {{adaptive?: boolean, maxPixelRatio?: number, maxPixels?: number}} options */
  constructor({ adaptive = true, maxPixelRatio = 2, maxPixels = 2.5e6 } = {}) {
    this.adaptive = !!adaptive;
    this.maxPixelRatio = maxPixelRatio;
    this.maxPixels = maxPixels;
    this.scale = 1;     // times the capped device pixel ratio, in [ADAPT.min, 1]
    this.since = 0;     // start of the current measuring period (ms)
  }

  /** After a drawn frame at `now` with the measured `fps`; `active`: animating with the orbit camera.
   * Returns whether the scale changed. */
  update(now, fps, active) {
    if (!this.adaptive || !active) { this.since = now; return false; }
    if (now - this.since < ADAPT.periodMs) return false;
    this.since = now;
    const before = this.scale;
    if (fps < ADAPT.lowFps && this.scale > ADAPT.min) this.scale = Math.max(ADAPT.min, this.scale * ADAPT.step);
    else if (fps > ADAPT.highFps && this.scale < 1) this.scale = Math.min(1, this.scale / ADAPT.step);
    return this.scale !== before;
  }

  /** The drawing buffer's [width, height] for a box of cssWidth x cssHeight CSS pixels: the device pixel
   * ratio capped at maxPixelRatio, times the scale, then capped at maxPixels pixels in all. */
  pixelSize(cssWidth, cssHeight, devicePixelRatio) {
    let dpr = Math.min(devicePixelRatio || 1, this.maxPixelRatio) * this.scale;
    const px = cssWidth * cssHeight * dpr * dpr;
    if (px > this.maxPixels) dpr *= Math.sqrt(this.maxPixels / px);
    return [Math.max(1, Math.round(cssWidth * dpr)), Math.max(1, Math.round(cssHeight * dpr))];
  }
}

export class FrameLoop {
  /**
   * @param {object} hooks
   *   requestFrame(cb) -> handle, cancelFrame(handle): the display's frame callback; cb(now) with now in ms
   *   clock: the motion clock (player.js MotionPlayer): tick(now), play(), pause(), seek(s), playing
   *   loaded(): whether there is anything to draw (an avatar)
   *   animating(): whether the parameters change by themselves (deform again every frame)
   *   keepAlive(): keep ticking although nothing changes (the fps overlay)
   *   canAdapt(): whether the resolution may adapt now (the orbit camera, not a fixed one)
   *   request(now, deform): start a frame (deform false: only re-sort for the view); a Promise of the frame,
   *     or of null when the request was superseded
   *   draw(frame, now): show a frame that came back; drawn(now): after it is counted (overlay, events)
   *   discard(frame): a frame that came back after supersede(): give its buffers back
   *   fail(err): a request failed
   * @param {object} options resolution: AdaptiveResolution options; hidden: the page starts hidden
   */
  constructor(hooks, { resolution = {}, hidden = false } = {}) {
    this.hooks = hooks;
    this.clock = hooks.clock;
    this.fps = new FpsMeter();
    this.resolution = new AdaptiveResolution(resolution);
    this.dirty = false;         // something changed since the last request
    this.dirtyParams = false;   // ... and it needs a deformation, not only a sort
    this.busy = false;          // a request is in flight
    this.ready = null;          // a frame that came back, shown on the next tick
    this.generation = 0;        // bumped by supersede(): older requests' frames are discarded
    this.handle = 0;            // the pending requestFrame handle, 0 when none
    this.hidden = !!hidden;
    this.resumeOnShow = false;  // the clock played when the page was hidden
    this.disposed = false;
  }

  /** Something changed: 'params' (deform again) or 'view' (only sort again). */
  invalidate(what = 'params') {
    if (what === 'params') this.dirtyParams = true;
    this.dirty = true;
    this.schedule();
  }

  /** Ask for a display frame if there is work (or animation) and none is asked for yet. */
  schedule() {
    if (this.handle || this.disposed) return;
    if (!(this.dirty || this.busy || this.ready || this.hooks.animating() || this.hooks.keepAlive())) return;
    this.handle = this.hooks.requestFrame((now) => this.tick(now));
  }

  play() { this.clock.play(); this.schedule(); }
  pause() { this.clock.pause(); this.invalidate(); }
  seek(seconds) { this.clock.seek(seconds); this.invalidate(); }

  /** The page was hidden or shown again: the motion clock pauses while hidden and resumes when shown. */
  setHidden(hidden) {
    this.hidden = !!hidden;
    if (this.hidden) {
      this.resumeOnShow = this.clock.playing;
      this.clock.pause();
    } else if (this.resumeOnShow) {
      this.resumeOnShow = false;
      this.clock.play();
    }
    this.schedule();
  }

  /** One display frame at `now`: advance the clock, show the frame that came back, ask for the next. */
  tick(now) {
    this.handle = 0;
    if (!this.hooks.loaded() || this.disposed || this.hidden) return;
    this.clock.tick(now);
    if (this.ready) {
      const frame = this.ready;
      this.ready = null;
      this.hooks.draw(frame, now);
      this.fps.frame(now);
      this.resolution.update(now, this.fps.fps, this.hooks.animating() && this.hooks.canAdapt());
      this.hooks.drawn(now);
    }
    const animating = this.hooks.animating();
    if (!this.busy && (this.dirty || animating)) {
      const deform = this.dirtyParams || animating;
      const gen = this.generation;
      this.dirty = false;
      this.dirtyParams = false;
      this.busy = true;
      this.hooks.request(now, deform).then((frame) => {
        this.busy = false;
        if (frame && gen === this.generation) this.ready = frame;
        else if (frame) this.hooks.discard(frame);
        this.schedule();
      }, (err) => { this.busy = false; this.hooks.fail(err); });
    }
    this.schedule();
  }

  /** A frame is being made outside the loop (renderNow): frames asked for before now are not shown.
   * Returns the new generation (see isCurrent). */
  supersede() {
    this.generation++;
    this.ready = null;
    return this.generation;
  }

  isCurrent(generation) { return generation === this.generation; }

  /** The picture is up to date (drawn outside the loop): nothing waits to be shown or asked for. */
  markDrawn() {
    this.ready = null;
    this.dirty = false;
    this.dirtyParams = false;
  }

  dispose() {
    this.disposed = true;
    if (this.handle) this.hooks.cancelFrame(this.handle);
    this.handle = 0;
  }
}
