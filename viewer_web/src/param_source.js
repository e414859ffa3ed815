// Which parameters drive the avatar this frame, in priority order: manual parameters (setParams), else live
// ones (the webcam or video driver), else the motion (its clock, player.js), else the idle animation (when
// enabled), else the neutral frame. No DOM or WebGL: Node tests drive it (tests/js/param_source.test.mjs).

import { zeroParams } from './deform.js';
import { ViewerError } from './errors.js';
import { IdleAnimation } from './idle.js';
import { bindMotion } from './motion.js';
import { MotionPlayer } from './player.js';

export class ParamSource {
  /** @param {{idle?: boolean}} options idle: animate a still avatar (idle.js) when nothing else drives it */
  constructor({ idle = true } = {}) {
    this.idleEnabled = !!idle;
    this.player = new MotionPlayer();   // the motion clock
    this.rig = null;          // {exprNames, jointNames, nJoints} of the loaded avatar, or null
    this.motion = null;       // the motion as parsed (kept to bind it again to the next avatar)
    this.binding = null;      // the motion bound to this rig's channels (motion.js bindMotion)
    this.manual = null;       // {expr, pose, translation} from setManual, or null
    this.live = null;         // {expr, pose, translation} from setLive, or null
    this.idle = null;         // IdleAnimation for this rig
    this.idleStart = 0;       // when the idle animation started (ms, the caller's clock)
    this.params = null;       // scratch frame the motion, idle and neutral sources write into
  }

  /**
   * A new avatar: neutral scratch parameters, a fresh idle animation from `now`, no live parameters; the
   * motion (if any) is bound again to the new channels and that binding is returned (else null). Manual
   * parameters are kept.
   */
  setRig({ exprNames, jointNames, nJoints }, now) {
    this.rig = { exprNames, jointNames, nJoints };
    this.params = zeroParams(exprNames.length, nJoints);
    this.live = null;
    this.idle = new IdleAnimation(exprNames, nJoints);
    this.idleStart = now;
    return this.motion ? this._bind() : null;
  }

  /** A parsed motion or null; returns its binding to the current rig (null without a rig or motion). */
  setMotion(motion) {
    this.motion = motion;
    if (motion && this.rig) return this._bind();
    if (!motion) { this.binding = null; this.player.setMotion(null); }
    return null;
  }

  _bind() {
    this.binding = bindMotion(this.motion, this.rig.exprNames, this.rig.nJoints);
    this.player.setMotion(this.binding);
    return this.binding;
  }

  /**
   * Manual parameters (null: back to the other sources). expr: array in the rig's channel order or
   * {name: value}; pose: array of J*3 axis-angle values or {jointName: [x, y, z]}; translation: [x, y, z].
   * Returns the names it could not map; throws ViewerError for a wrong length or a non-finite value.
   */
  setManual(p) {
    if (p == null) { this.manual = null; return []; }
    if (!this.rig) throw new ViewerError('setParams: no avatar loaded');
    const a = this.rig, out = zeroParams(a.exprNames.length, a.nJoints), unknown = [];
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
    return unknown;
  }

  /**
   * Live parameters in the rig's own layout ({expr: K, pose: J*3, translation: 3}; copied), or null to stop.
   * Returns whether anything changed (nothing does without a rig, or when clearing what is not set).
   */
  setLive(p) {
    if (p == null) {
      if (!this.live) return false;
      this.live = null;
      return true;
    }
    if (!this.rig) return false;
    const a = this.rig;
    if (p.expr.length !== a.exprNames.length || p.pose.length !== a.nJoints * 3) {
      throw new ViewerError('setLive: the parameters do not fit this avatar');
    }
    this.live ??= zeroParams(a.exprNames.length, a.nJoints);
    this.live.expr.set(p.expr);
    this.live.pose.set(p.pose);
    this.live.translation.set(p.translation);
    return true;
  }

  /** The source that drives the avatar now: 'manual', 'live', 'motion', 'idle' or 'neutral'. */
  get kind() {
    if (this.manual) return 'manual';
    if (this.live) return 'live';
    if (this.binding) return 'motion';
    if (this.idleEnabled && this.idle) return 'idle';
    return 'neutral';
  }

  /** Whether the parameters change by themselves over time (a playing motion, or idling). */
  get animating() {
    return !this.manual && !this.live && (this.player.playing || (!this.binding && this.idleEnabled));
  }

  /** The parameters of the frame at `now` (ms, the clock setRig was given) from the source of `kind`. */
  paramsAt(now) {
    switch (this.kind) {
      case 'manual': return this.manual;
      case 'live': return this.live;
      case 'motion': return this.player.paramsAt(this.params);
      case 'idle': return this.idle.paramsAt(now - this.idleStart, this.params);
      default:
        this.params.expr.fill(0); this.params.pose.fill(0); this.params.translation.fill(0);
        return this.params;
    }
  }
}
