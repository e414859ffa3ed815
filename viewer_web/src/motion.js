// Motions in the page: the server's compact "lam-motion" JSON (FLAME npz layouts and ARKit curves converted
// by lam_core.load_motion) and ARKit JSON parsed here directly. A motion is
//   {fps, nFrames, channelNames, channels: Float32Array(T*C), pose: Float32Array(T*5*3) axis-angle
//    in FLAME_JOINTS order [global, neck, jaw, eye_l, eye_r], translation: Float32Array(T*3), source}
// and binds to a rig by NAME, channels and joints alike (a rig's joints may come in any order, or lack some);
// bindMotion says which channels and joints the rig lacks.

import { ViewerError } from './errors.js';
import { FLAME_JOINTS, jointMap } from './joints.js';

export const MAX_FRAMES = 1_000_000;
export const MAX_CHANNELS = 4096;
export const MAX_VALUES = 1 << 26;
export const MOTION_JOINTS = FLAME_JOINTS.length;

const fail = (source, msg) => { throw new ViewerError(`${source}: ${msg}`); };

/** Bytes -> base64 (in slices: String.fromCharCode takes a bounded argument list). */
export function bytesToBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Float32Array -> base64 of its little-endian bytes (the lam-motion arrays). */
export function floatsToBase64(values) {
  const bytes = new Uint8Array(values.length * 4), view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytesToBase64(bytes);
}

function base64Floats(s, count, source, key) {
  if (typeof s !== 'string') fail(source, `'${key}' must be a base64 string`);
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const bytes = (s.length / 4) * 3 - pad;
  if (s.length % 4 !== 0 || bytes !== count * 4) fail(source, `'${key}' holds ${Math.max(bytes, 0)} bytes, expected ${count * 4}`);
  let bin;
  try { bin = atob(s); } catch { fail(source, `'${key}' is not valid base64`); }
  const u8 = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
  const out = new Float32Array(u8.buffer);
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) fail(source, `'${key}' contains NaN or infinity`);
  return out;
}

function checkFps(fps, source) {
  if (typeof fps !== 'number' || !(fps > 0 && fps <= 1000)) fail(source, `frame rate ${fps} is not in (0, 1000]`);
  return fps;
}

function checkNames(names, source, key) {
  if (!Array.isArray(names) || names.length > MAX_CHANNELS || !names.every((n) => typeof n === 'string' && n.length <= 256)) {
    fail(source, `'${key}' must be a list of at most ${MAX_CHANNELS} names`);
  }
  if (new Set(names).size !== names.length) fail(source, `'${key}' repeats a name`);
  return names;
}

/** The server's compact motion (lam_core/motion/lam_motion_json.py). */
export function parseLamMotion(o, source = 'motion') {
  if (o?.format !== 'lam-motion') fail(source, "not a lam-motion file");
  if (o.version !== 1) fail(source, `lam-motion version ${o.version} is not supported`);
  const t = o.frames;
  if (!Number.isInteger(t) || t < 1 || t > MAX_FRAMES) fail(source, `frame count ${t} out of range`);
  const names = checkNames(o.channel_names, source, 'channel_names');
  const c = names.length;
  if (t * (c + 3 * MOTION_JOINTS + 3) > MAX_VALUES) fail(source, 'too many values');
  return {
    fps: checkFps(o.fps, source), nFrames: t, channelNames: names,
    channels: base64Floats(o.channels, t * c, source, 'channels'),
    pose: base64Floats(o.pose, t * MOTION_JOINTS * 3, source, 'pose'),
    translation: base64Floats(o.translation, t * 3, source, 'translation'),
    source: typeof o.source === 'string' ? o.source : source,
  };
}

/** ARKit coefficient curves as LAM's web demo uses them: {names, frames: [{weights, time}], head_pose?}
 * (lam_core.motion.load_arkit_json). */
export function parseArkitMotion(o, source = 'motion') {
  const names = checkNames(o?.names, source, 'names');
  if (!names.length) fail(source, "key 'names' must be a non-empty list of channel names");
  const frames = o.frames;
  if (!Array.isArray(frames) || !frames.length) fail(source, "key 'frames' must be a non-empty list");
  if (frames.length > MAX_FRAMES || frames.length * names.length > MAX_VALUES) fail(source, `${frames.length} frames is too many`);
  const t = frames.length, c = names.length;
  const channels = new Float32Array(t * c);
  const times = [];
  frames.forEach((f, i) => {
    const w = f?.weights;
    if (!Array.isArray(w) || w.length !== c) fail(source, `frames[${i}].weights must list ${c} numbers`);
    for (let k = 0; k < c; k++) {
      if (typeof w[k] !== 'number' || !Number.isFinite(w[k])) fail(source, `frames[${i}].weights are not all finite numbers`);
      channels[i * c + k] = w[k];
    }
    if (typeof f.time === 'number' && Number.isFinite(f.time)) times.push(f.time);
  });
  const pose = new Float32Array(t * MOTION_JOINTS * 3);
  if (o.head_pose !== undefined) {
    const hp = o.head_pose;
    if (!Array.isArray(hp) || hp.length !== t) fail(source, `key 'head_pose' must have ${t} rows of 3 numbers`);
    hp.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== 3 || !r.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        fail(source, `key 'head_pose' must have ${t} rows of 3 finite numbers`);
      }
      pose.set(r, i * MOTION_JOINTS * 3);
    });
  }
  let fps = 30;
  if (times.length === t && t > 1) {
    const dt = times.slice(1).map((x, i) => x - times[i]);
    if (dt.every((d) => d > 0)) fps = 1 / dt.sort((a, b) => a - b)[dt.length >> 1];
    if (!(fps > 0 && fps <= 1000)) fps = 30;
  }
  return { fps, nFrames: t, channelNames: names, channels, pose, translation: new Float32Array(t * 3), source };
}

/** A motion from a JSON object of either kind. */
export function parseMotionObject(o, source = 'motion') {
  if (o && typeof o === 'object' && o.format === 'lam-motion') return parseLamMotion(o, source);
  if (o && typeof o === 'object' && 'names' in o) return parseArkitMotion(o, source);
  return fail(source, 'neither a lam-motion file nor ARKit curves (names, frames)');
}

/** Parse motion text (JSON). */
export function parseMotionText(text, source = 'motion') {
  let o;
  try { o = JSON.parse(text); } catch (e) { fail(source, `not valid JSON (${e.message.split('\n')[0]})`); }
  return parseMotionObject(o, source);
}

/**
 * Bind a motion to a rig with these channel and joint names: {duration, fps, nFrames, unmapped: the motion's
 * channels and joints the rig lacks (only ever-moving ones), paramsAt(time, out)} where out is {expr (K),
 * pose (J*3, the rig's joint order), translation (3)} and time in seconds (linear interpolation between
 * frames, clamped to the ends).
 */
export function bindMotion(motion, exprNames, jointNames) {
  const index = new Map(exprNames.map((n, i) => [n, i]));
  const c = motion.channelNames.length, t = motion.nFrames;
  const map = [];
  const unmapped = [];
  motion.channelNames.forEach((name, j) => {
    const i = index.get(name);
    if (i !== undefined) map.push([j, i]);
    else {
      for (let f = 0; f < t; f++) if (motion.channels[f * c + j] !== 0) { unmapped.push(name); break; }
    }
  });
  const toRig = jointMap(FLAME_JOINTS, jointNames), joints = [];
  toRig.forEach((r, j) => {
    if (r >= 0) joints.push([j, r]);
    else if (motion.pose.some((v, i) => v !== 0 && Math.floor(i / 3) % MOTION_JOINTS === j)) unmapped.push(FLAME_JOINTS[j]);
  });
  const frameAt = (f, w, out) => {
    for (const [j, i] of map) out.expr[i] += w * motion.channels[f * c + j];
    for (const [j, r] of joints) {
      for (let k = 0; k < 3; k++) out.pose[r * 3 + k] += w * motion.pose[(f * MOTION_JOINTS + j) * 3 + k];
    }
    for (let k = 0; k < 3; k++) out.translation[k] += w * motion.translation[f * 3 + k];
  };
  return {
    fps: motion.fps, nFrames: t, duration: t / motion.fps, unmapped, source: motion.source,
    paramsAt(time, out) {
      out.expr.fill(0); out.pose.fill(0); out.translation.fill(0);
      const x = Math.max(0, Math.min(t - 1, time * motion.fps));
      const f0 = Math.floor(x), f1 = Math.min(t - 1, f0 + 1), w1 = x - f0;
      frameAt(f0, 1 - w1, out);
      if (w1 > 0) frameAt(f1, w1, out);
      return out;
    },
    frameParams(f, out) {
      out.expr.fill(0); out.pose.fill(0); out.translation.fill(0);
      frameAt(Math.max(0, Math.min(t - 1, f | 0)), 1, out);
      return out;
    },
  };
}
