// Getting bytes (a URL, a File/Blob, an ArrayBuffer) into an avatar structure or a motion, with one-line
// errors that name what failed.

import { describeError, ViewerError } from './errors.js';
import { avatarFromLam } from './lam_adapter.js';
import { readLam } from './lam_reader.js';
import { parseMotionText } from './motion.js';

export const MAX_AVATAR_BYTES = 1 << 30;
export const MAX_MOTION_BYTES = 64 << 20;

function nameOf(src) {
  if (typeof src === 'string') return decodeURIComponent(src.split('?')[0].split('/').pop() || src);
  if (src instanceof URL) return nameOf(src.pathname);
  if (typeof Blob !== 'undefined' && src instanceof Blob) return src.name || 'file';
  return 'data';
}

/** Bytes of a URL, Blob/File, ArrayBuffer or typed array (size-checked). */
export async function fetchBytes(src, maxBytes, what) {
  const name = nameOf(src);
  if (src instanceof ArrayBuffer) return { name, bytes: new Uint8Array(src) };
  if (ArrayBuffer.isView(src)) return { name, bytes: new Uint8Array(src.buffer, src.byteOffset, src.byteLength) };
  if (typeof Blob !== 'undefined' && src instanceof Blob) {
    if (src.size > maxBytes) throw new ViewerError(`${name}: larger than ${maxBytes >> 20} MiB`);
    return { name, bytes: new Uint8Array(await src.arrayBuffer()) };
  }
  let res;
  try {
    res = await fetch(src);
  } catch (err) {
    throw new ViewerError(`cannot fetch ${what} ${name}: ${describeError(err)}`);
  }
  if (!res.ok) {
    let detail = '';
    try { detail = (await res.json()).error ?? ''; } catch { /* not JSON */ }
    throw new ViewerError(`cannot fetch ${what} ${name}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`);
  }
  const len = Number(res.headers.get('content-length'));
  if (len > maxBytes) throw new ViewerError(`${name}: larger than ${maxBytes >> 20} MiB`);
  return { name, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** Read a .lam avatar into the viewer's structure. */
export async function loadAvatar(src) {
  const { name, bytes } = await fetchBytes(src, MAX_AVATAR_BYTES, 'avatar');
  try {
    return avatarFromLam(await readLam(bytes));
  } catch (err) {
    throw new ViewerError(`${name} is not a usable .lam avatar: ${describeError(err)}`);
  }
}

/** Read a motion: the server's lam-motion JSON or ARKit JSON (parsed here). */
export async function loadMotion(src) {
  const { name, bytes } = await fetchBytes(src, MAX_MOTION_BYTES, 'motion');
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ViewerError(`${name}: not a text (JSON) motion file`);
  }
  return parseMotionText(text, name);
}
