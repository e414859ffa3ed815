// Reader of .lam avatar files (docs/lam-format.md), for browsers and Node 20. No dependencies.
//
//   import { readLam } from './lam_reader.js';
//   const lam = await readLam(arrayBufferOrUint8Array);
//   lam.gaussians.offsets  // Float32Array(N*3), ... see the README of the format for every field
//
// Every length and count is checked against the bytes present and the format's caps before anything is
// allocated; a bad file throws a LamFormatError with a one-line message. Dequantisation evaluates the
// specification's formulas in double precision and rounds once to float32, exactly as the Python reader
// does, so both give identical numbers. Quantised bases are the exception: they stay quantised in memory (an
// integer delta times its channel's scale, see basis()), which is how the deformer reads them.

export const MAGIC = [0x89, 0x4c, 0x41, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a];
export const VERSION_MAJOR = 1;
export const VERSION_MINOR = 0;
const PREAMBLE_SIZE = 24;
const CHUNK_HEADER_SIZE = 24;
const ALIGN = 8;
const FLAG_DEFLATE = 1;

export const LIMITS = Object.freeze({
  MAX_FILE_BYTES: 2 ** 30,
  MAX_HEADER_BYTES: 4 * 2 ** 20,
  MAX_HEADER_VALUES: 2 ** 15,
  MAX_CHUNKS: 256,
  MAX_RAW_BYTES: 2 ** 30,
  RAW_EXPANSION: 16,
  RAW_SLACK: 4 * 2 ** 20,
  MAX_GAUSSIANS: 2 ** 24,
  MAX_VERTICES: 2 ** 24,
  MAX_FACES: 2 ** 25,
  MAX_JOINTS: 1024,
  MAX_CHANNELS: 8192,
  MAX_NAME_CHARS: 256,
  MAX_BIND_K: 16,
  MAX_SKIN_K: 16,
  MAX_LANDMARKS: 2 ** 16,
  MAX_SUBDIVISION_LEVELS: 3,
  MAX_ARRAY_DIMS: 4,
});

const DTYPE_SIZE = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4 };
const DTYPE_ARRAY = {
  u8: Uint8Array, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array,
  f32: Float32Array,
};

const pairs = (...p) => new Set(p);
const BASIS_LAYOUT = {
  ptr: [pairs('u32 raw'), true],
  index: [pairs('u16 raw', 'u32 raw'), true],
  delta: [pairs('f32 raw', 'i8 channel_scaled', 'i16 channel_scaled'), true],
  scale: [pairs('f32 raw'), false],
};
// tag -> array name -> [allowed "dtype encoding" pairs, required]
export const LAYOUT = {
  GAUS: {
    offset: [pairs('f32 raw', 'u16 linear'), true],
    color: [pairs('f32 raw', 'u8 linear', 'u16 linear'), true],
    opacity: [pairs('f32 raw', 'u8 linear', 'u16 linear'), true],
    scale: [pairs('f32 raw', 'u8 table', 'u16 table'), true],
    scale_table: [pairs('f32 raw'), false],
    rotation: [pairs('f32 raw', 'u32 smallest3'), true],
  },
  BIND: { index: [pairs('u16 raw', 'u32 raw'), true], weight: [pairs('f32 raw', 'u16 fraction'), true] },
  MESH: { vertices: [pairs('f32 raw', 'u16 linear'), true], faces: [pairs('u16 raw', 'u32 raw'), true] },
  JOIN: { positions: [pairs('f32 raw'), true], exprdirs: [pairs('f32 raw'), true] },
  SKIN: { index: [pairs('u8 raw', 'u16 raw'), true], weight: [pairs('f32 raw', 'u16 fraction'), true] },
  EXPR: BASIS_LAYOUT,
  POSE: BASIS_LAYOUT,
  lmks: { ids: [pairs('u16 raw', 'u32 raw'), true], faces: [pairs('u16 raw', 'u32 raw'), true], bary: [pairs('f32 raw'), true] },
  thmb: { image: [pairs('u8 raw'), true] },
  pfac: { faces: [pairs('u16 raw', 'u32 raw'), true] },
};
const REQUIRED = ['GAUS', 'MESH', 'JOIN', 'SKIN', 'EXPR', 'POSE'];
const THUMBNAIL_MIMES = ['image/png', 'image/jpeg', 'image/webp'];
const ENCODINGS = ['quantised', 'lossless'];
const MAX_PARAM = 1e9;
const SQRT1_2 = Math.SQRT1_2;
const ROT_MAX = 1023;

export class LamFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = 'LamFormatError';
  }
}

const fail = (msg) => { throw new LamFormatError(msg); };
const has = (o, k) => o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k);
const get = (o, k) => (has(o, k) ? o[k] : undefined);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const align = (n) => Math.ceil(n / ALIGN) * ALIGN;
const isCritical = (tag) => tag[0] >= 'A' && tag[0] <= 'Z';
const KNOWN = new Set(Object.keys(LAYOUT));
const repr = (v) => { try { return JSON.stringify(v)?.slice(0, 60) ?? String(v); } catch { return String(v); } };

export function maxRawBytes(fileSize) {
  return Math.min(LIMITS.MAX_RAW_BYTES, LIMITS.RAW_EXPANSION * fileSize + LIMITS.RAW_SLACK);
}

// ---------------------------------------------------------------------------------------------- CRC32
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes, crc = 0) {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------- container
function asBytes(input) {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return fail('readLam expects an ArrayBuffer or a typed array holding the file');
}

function asInt(v, lo, hi, what) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    fail(`${what} is ${repr(v)}; expected an integer in ${lo}..${hi}`);
  }
  return v;
}

/** Check the framing of a whole file: preamble, header checksum and JSON, every chunk's length, checksum and
 * padding, the caps. Returns {version, header, headerLength, chunks, fileSize}; nothing is inflated. */
export function parseContainer(input) {
  const buf = asBytes(input);
  const size = buf.length;
  if (size > LIMITS.MAX_FILE_BYTES) fail(`file is ${size} bytes; the limit is ${LIMITS.MAX_FILE_BYTES}`);
  for (let i = 0; i < Math.min(size, MAGIC.length); i++) {
    if (buf[i] !== MAGIC[i]) fail('not a .lam file (wrong magic bytes)');
  }
  if (size < PREAMBLE_SIZE) fail(`file is truncated (${size} bytes, shorter than the ${PREAMBLE_SIZE}-byte preamble)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = dv.getUint16(8, true);
  const minor = dv.getUint16(10, true);
  const headerLen = dv.getUint32(12, true);
  const nChunks = dv.getUint32(16, true);
  const crc = dv.getUint32(20, true);
  if (major !== VERSION_MAJOR) fail(`.lam version ${major}.${minor} is not supported (this reader reads ${VERSION_MAJOR}.x)`);
  if (headerLen % ALIGN || headerLen < 2 || headerLen > LIMITS.MAX_HEADER_BYTES) {
    fail(`header length ${headerLen} is invalid (a multiple of ${ALIGN}, at most ${LIMITS.MAX_HEADER_BYTES})`);
  }
  let pos = PREAMBLE_SIZE;
  if (headerLen > size - pos) fail(`file is truncated (the header needs ${headerLen} bytes, ${size - pos} left)`);
  if (nChunks > LIMITS.MAX_CHUNKS) fail(`${nChunks} chunks declared; the limit is ${LIMITS.MAX_CHUNKS}`);
  const headerBytes = buf.subarray(pos, pos + headerLen);
  if (crc32(headerBytes, crc32(buf.subarray(0, 20))) !== crc) fail('header checksum mismatch (the file is corrupt)');
  let values = 0;  // bounds what JSON.parse may allocate: '[', '{' and ',' (in strings too) counted
  for (let i = 0; i < headerBytes.length; i++) {
    const b = headerBytes[i];
    if (b === 0x5b || b === 0x7b || b === 0x2c) values++;
  }
  if (values > LIMITS.MAX_HEADER_VALUES) fail(`header holds more than ${LIMITS.MAX_HEADER_VALUES} JSON values`);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(`header is not valid JSON (${e.name})`);
  }
  if (!isObject(header)) fail('header is not a JSON object');
  pos += headerLen;

  const chunks = [];
  const seen = new Set();
  let rawTotal = 0;
  const rawCap = maxRawBytes(size);
  for (let i = 0; i < nChunks; i++) {
    let where = `chunk ${i + 1} of ${nChunks}`;
    if (size - pos < CHUNK_HEADER_SIZE) fail(`file is truncated (${where} is missing)`);
    let tag = '';
    for (let k = 0; k < 4; k++) {
      const b = buf[pos + k];
      if (!((b >= 65 && b <= 90) || (b >= 97 && b <= 122))) fail(`${where}: chunk tag is not four ASCII letters`);
      tag += String.fromCharCode(b);
    }
    where = `chunk '${tag}' (${i + 1} of ${nChunks})`;
    const flags = dv.getUint32(pos + 4, true);
    const storedLen = dv.getUint32(pos + 8, true);
    const rawLen = dv.getUint32(pos + 12, true);
    const ccrc = dv.getUint32(pos + 16, true);
    if (dv.getUint32(pos + 20, true) !== 0) fail(`${where}: reserved field is not zero`);
    const start = pos + CHUNK_HEADER_SIZE;
    if (storedLen > size - start) fail(`file is truncated (${where} declares ${storedLen} bytes, ${size - start} left)`);
    const stored = buf.subarray(start, start + storedLen);
    if (crc32(stored, crc32(buf.subarray(pos, pos + 16))) !== ccrc) fail(`${where}: checksum mismatch (the file is corrupt)`);
    if (seen.has(tag)) fail(`${where}: the tag appears twice`);
    seen.add(tag);
    if (flags & ~FLAG_DEFLATE) {
      if (isCritical(tag)) fail(`${where}: unknown flags 0x${flags.toString(16)} (the file needs a newer reader)`);
    } else if (!(flags & FLAG_DEFLATE) && rawLen !== storedLen) {
      fail(`${where}: raw length ${rawLen} differs from the stored ${storedLen} of an uncompressed chunk`);
    }
    rawTotal += rawLen;
    if (rawTotal > rawCap) fail(`${where}: the chunks declare more than ${rawCap} raw bytes for a ${size}-byte file`);
    const end = align(start + storedLen);
    if (end > size) fail(`file is truncated (${where} lacks its padding)`);
    for (let k = start + storedLen; k < end; k++) if (buf[k]) fail(`${where}: padding bytes are not zero`);
    chunks.push({
      tag, flags, offset: pos, storedLength: storedLen, rawLength: rawLen,
      compressed: !!(flags & FLAG_DEFLATE), readable: !(flags & ~FLAG_DEFLATE), known: KNOWN.has(tag), stored,
    });
    pos = end;
  }
  if (pos !== size) fail(`${size - pos} unexpected bytes after the last chunk`);
  return { version: [major, minor], header, headerLength: headerLen, chunks, fileSize: size };
}

/** Inflate a zlib stream that must hold exactly rawLen bytes; stops (and fails) past rawLen. */
export async function inflate(stored, rawLen, what) {
  const out = new Uint8Array(rawLen);
  let n = 0;
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  writer.write(stored).catch(() => {});
  writer.close().catch(() => {});
  let tooLong = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (n + value.length > rawLen) { tooLong = true; break; }
      out.set(value, n);
      n += value.length;
    }
  } catch (e) {
    fail(`chunk ${what}: corrupt deflate stream (${e.message ?? e})`);
  }
  if (tooLong) {
    reader.cancel().catch(() => {});
    fail(`chunk ${what}: deflate stream does not hold exactly the declared ${rawLen} bytes`);
  }
  if (n !== rawLen) fail(`chunk ${what}: deflate stream does not hold exactly the declared ${rawLen} bytes`);
  // Some DecompressionStream implementations ignore bytes after the end of the stream; the stream must end
  // with the Adler-32 of its output, so junk appended after it shows as a mismatch here.
  const k = stored.length - 4;
  const tail = k >= 0 ? ((stored[k] << 24) | (stored[k + 1] << 16) | (stored[k + 2] << 8) | stored[k + 3]) >>> 0 : -1;
  if (tail !== adler32(out)) fail(`chunk ${what}: bytes after the end of the deflate stream`);
  return out;
}

function adler32(bytes) {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length;) {
    const end = Math.min(i + 5552, bytes.length);
    for (; i < end; i++) { a += bytes[i]; b += a; }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ---------------------------------------------------------------------------------------------- array tables
/** Validate a chunk's array table (names, dtypes, encodings, shapes, offsets tiling the raw payload). */
export function checkTable(tag, table, rawLen) {
  const where = `chunk ${tag}`;
  if (!isObject(table)) fail(`${where}: the header has no array table for it`);
  const layout = get(LAYOUT, tag) ?? {};
  const items = [];
  for (const [name, d] of Object.entries(table)) {
    const w = `${where}, array '${name}'`;
    if (!isObject(d)) fail(`${w}: descriptor is not an object`);
    const dtype = get(d, 'dtype');
    if (typeof dtype !== 'string' || !has(DTYPE_SIZE, dtype)) fail(`${w}: unknown dtype ${repr(dtype)}`);
    const shapeIn = get(d, 'shape');
    if (!Array.isArray(shapeIn) || shapeIn.length > LIMITS.MAX_ARRAY_DIMS) {
      fail(`${w}: shape ${repr(shapeIn)} is not a list of at most ${LIMITS.MAX_ARRAY_DIMS} sizes`);
    }
    const shape = shapeIn.map((s) => asInt(s, 0, LIMITS.MAX_RAW_BYTES, `${w}: a size`));
    const at = asInt(get(d, 'at'), 0, LIMITS.MAX_RAW_BYTES, `${w}: offset`);
    const enc = get(d, 'enc');
    if (!isObject(enc) || typeof get(enc, 'kind') !== 'string') fail(`${w}: encoding is not an object with a kind`);
    if (has(layout, name) && !layout[name][0].has(`${dtype} ${enc.kind}`)) {
      fail(`${w}: ${dtype} with encoding '${enc.kind}' is not allowed here`);
    }
    let count = 1;
    for (const s of shape) count *= s;  // each size <= 2**30 and at most 4 of them: exact below 2**120
    items.push({ name, dtype, shape, at, enc, count, nbytes: count * DTYPE_SIZE[dtype] });
  }
  for (const [name, [, required]] of Object.entries(layout)) {
    if (required && !has(table, name)) fail(`${where}: array '${name}' is missing`);
  }
  items.sort((a, b) => a.at - b.at);
  let at = 0;
  for (const it of items) {
    if (it.at !== at) fail(`${where}, array '${it.name}': offset ${it.at}, expected ${at}`);
    at = align(it.at + it.nbytes);
    if (at > rawLen) fail(`${where}, array '${it.name}': extends past the chunk's ${rawLen} raw bytes`);
  }
  if (at !== rawLen) fail(`${where}: the arrays fill ${at} bytes of its ${rawLen} raw bytes`);
  return items;
}

function viewArrays(tag, items, raw) {
  const out = Object.create(null);  // array names come from the file: no prototype to collide with
  let at = 0;
  for (const it of items) {
    for (let k = at; k < it.at; k++) if (raw[k]) fail(`chunk ${tag}: padding before array '${it.name}' is not zero`);
    const Ctor = DTYPE_ARRAY[it.dtype];
    let data;
    if ((raw.byteOffset + it.at) % DTYPE_SIZE[it.dtype] === 0) data = new Ctor(raw.buffer, raw.byteOffset + it.at, it.count);
    else data = new Ctor(raw.slice(it.at, it.at + it.nbytes).buffer);
    if (it.dtype === 'f32') {
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) fail(`chunk ${tag}, array '${it.name}': contains NaN or infinity`);
    }
    out[it.name] = { ...it, data };
    at = it.at + it.nbytes;
  }
  for (let k = at; k < raw.length; k++) if (raw[k]) fail(`chunk ${tag}: trailing padding is not zero`);
  return out;
}

// ---------------------------------------------------------------------------------------------- header
function names(v, lo, hi, what) {
  if (!Array.isArray(v) || v.length < lo || v.length > hi) fail(`header: ${what} is not a list of ${lo}..${hi} names`);
  for (const s of v) {
    if (typeof s !== 'string' || s.length < 1 || [...s].length > LIMITS.MAX_NAME_CHARS) {
      fail(`header: ${what} holds ${repr(s)}, not a name of 1..${LIMITS.MAX_NAME_CHARS} characters`);
    }
  }
  if (new Set(v).size !== v.length) fail(`header: ${what} repeat`);
  return v.slice();
}

/** The header's counts and names, checked against the caps. */
export function checkHeader(header) {
  const int = (v, lo, hi, what) => asInt(v, lo, hi, `header: ${what}`);
  const obj = (v, what) => (isObject(v) ? v : fail(`header: ${what} is missing or not an object`));
  const encoding = get(header, 'encoding');
  if (!ENCODINGS.includes(encoding)) fail(`header: encoding ${repr(encoding)} is not one of ${ENCODINGS.join(', ')}`);
  const rig = obj(get(header, 'rig'), 'rig');
  const gs = obj(get(header, 'gaussians'), 'gaussians');
  const jointNames = names(get(rig, 'joint_names'), 1, LIMITS.MAX_JOINTS, 'rig.joint_names');
  const j = jointNames.length;
  const parentsIn = get(rig, 'parents');
  if (!Array.isArray(parentsIn) || parentsIn.length !== j) fail(`header: rig.parents is not a list of ${j} integers`);
  const parents = parentsIn.map((p, i) => int(p, i === 0 ? -1 : 0, Math.max(i - 1, -1), `rig.parents[${i}]`));
  const exprNames = names(get(rig, 'expr_names'), 0, LIMITS.MAX_CHANNELS, 'rig.expr_names');
  const v = int(get(rig, 'vertices'), 1, LIMITS.MAX_VERTICES, 'rig.vertices');
  const binding = get(gs, 'binding');
  if (binding !== 'identity' && binding !== 'sparse') fail(`header: gaussians.binding is ${repr(binding)}; expected 'identity' or 'sparse'`);
  const n = int(get(gs, 'count'), 1, LIMITS.MAX_GAUSSIANS, 'gaussians.count');
  if (binding === 'identity' && n !== v) fail(`header: identity binding of ${n} Gaussians to ${v} vertices`);
  const pf = obj(get(gs, 'point_faces'), 'gaussians.point_faces');
  const pfKind = get(pf, 'kind');
  if (!['none', 'base', 'subdivision', 'adaptive', 'chunk'].includes(pfKind)) fail(`header: gaussians.point_faces kind ${repr(pfKind)} is unknown`);
  const f = int(get(rig, 'faces'), 1, LIMITS.MAX_FACES, 'rig.faces');
  let levels = 0;
  if (pfKind === 'subdivision') {
    levels = int(get(pf, 'levels'), 1, LIMITS.MAX_SUBDIVISION_LEVELS, 'gaussians.point_faces.levels');
    if (f * 4 ** levels > 4 * n + 64) fail(`header: ${f} faces subdivided ${levels} times do not fit ${n} points`);
  }
  if (pfKind === 'adaptive' && !(binding === 'sparse' && n >= v && n <= v + 3 * f && f <= 4 * n + 64)) {
    fail(`header: adaptive point faces need a sparse binding of ${v} vertices and at most ${3 * f} edge midpoints, and at most 4 faces a point; the file has ${n} points and ${f} faces`);
  }
  if (pfKind === 'base' && binding !== 'identity') fail('header: points share the base mesh\'s faces only with an identity binding');
  const p = (j - 1) * 9;
  return {
    gaussians: n, vertices: v, faces: f, joints: j, expr: exprNames.length,
    poseCorrectives: int(get(rig, 'pose_correctives'), p, p, 'rig.pose_correctives'),
    landmarks: int(has(rig, 'landmarks') ? rig.landmarks : 0, 0, LIMITS.MAX_LANDMARKS, 'rig.landmarks'),
    bindK: int(get(gs, 'bind_k'), 1, LIMITS.MAX_BIND_K, 'gaussians.bind_k'),
    skinK: int(get(rig, 'skin_k'), 1, Math.min(LIMITS.MAX_SKIN_K, j), 'rig.skin_k'),
    binding, pointFaces: { kind: pfKind, levels }, jointNames, parents, exprNames,
    kind: typeof get(rig, 'kind') === 'string' ? rig.kind : '',
    source: typeof get(rig, 'source') === 'string' ? rig.source : '',
  };
}

function expectedShapes(tag, c, items) {
  const n = c.gaussians;
  const v = c.vertices;
  const byName = Object.fromEntries(items.map((it) => [it.name, it]));
  switch (tag) {
    case 'GAUS':
      return { offset: [n, 3], color: [n, 3], opacity: [n], scale: [n, 3],
        rotation: byName.rotation.dtype === 'u32' ? [n] : [n, 4], scale_table: 'table' };
    case 'BIND': return { index: [n, c.bindK], weight: [n, c.bindK] };
    case 'MESH': return { vertices: [v, 3], faces: [c.faces, 3] };
    case 'JOIN': return { positions: [c.joints, 3], exprdirs: [c.joints, 3, c.expr] };
    case 'SKIN': return { index: [v, c.skinK], weight: [v, c.skinK] };
    case 'EXPR': case 'POSE': {
      const ch = tag === 'EXPR' ? c.expr : c.poseCorrectives;
      const s = byName.index.shape;
      const nnz = s.length === 1 ? s[0] : -1;
      if (nnz < 0 || nnz > v * ch) fail(`chunk ${tag}: ${nnz} basis entries for ${v} vertices x ${ch} channels`);
      return { ptr: [ch + 1], index: [nnz], delta: [nnz, 3], scale: [ch] };
    }
    case 'lmks': return { ids: [c.landmarks], faces: [c.landmarks], bary: [c.landmarks, 3] };
    case 'thmb': return { image: 'bytes' };
    case 'pfac': return { faces: 'faces' };
    default: return {};
  }
}

function checkShapes(tag, c, items) {
  const want = expectedShapes(tag, c, items);
  for (const it of items) {
    if (!has(want, it.name)) continue;
    const w = want[it.name];
    const s = it.shape;
    let ok;
    if (w === 'table') ok = s.length === 1 && s[0] >= 1 && s[0] <= 65536;
    else if (w === 'bytes') ok = s.length === 1;
    else if (w === 'faces') ok = s.length === 2 && s[1] === 3 && s[0] <= LIMITS.MAX_FACES;
    else ok = s.length === w.length && s.every((x, i) => x === w[i]);
    if (!ok) fail(`chunk ${tag}, array '${it.name}': shape ${JSON.stringify(s)} does not match the header` + (Array.isArray(w) ? ` (expected ${JSON.stringify(w)})` : ''));
  }
}

// ---------------------------------------------------------------------------------------------- decoding
function params(a, key, n, lo, where) {
  const v = get(a.enc, key);
  if (!Array.isArray(v) || v.length !== n) fail(`${where}: encoding parameter '${key}' is not a list of ${n} numbers`);
  return v.map((x) => {
    if (typeof x !== 'number' || !(x >= lo && x <= MAX_PARAM)) fail(`${where}: ${key} is ${repr(x)}; expected a number in [${lo}, ${MAX_PARAM}]`);
    return x;
  });
}

function denominator(a, where) {
  return asInt(get(a.enc, 'denominator'), 1, 65535, `${where}: denominator`);
}

/** Decode a stored array to a Float32Array (raw integer arrays are returned as they are). */
function decode(a, arrays, where) {
  where = `${where}, array '${a.name}'`;
  const d = a.data;
  const kind = a.enc.kind;
  if (kind === 'raw') return d;
  if (kind === 'linear') {
    const c = a.shape.length > 1 ? a.shape[a.shape.length - 1] : 1;
    const lo = params(a, 'min', c, -MAX_PARAM, where);
    const step = params(a, 'step', c, 0, where);
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) { const k = i % c; out[i] = d[i] * step[k] + lo[k]; }
    return out;
  }
  if (kind === 'table') {
    const t = typeof get(a.enc, 'table') === 'string' ? get(arrays, a.enc.table) : undefined;
    if (!t || t.dtype !== 'f32' || t.shape.length !== 1 || t.enc.kind !== 'raw' || t.count === 0) fail(`${where}: its table is missing or not a list of float32`);
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) {
      if (d[i] >= t.count) fail(`${where}: an index is past the end of its ${t.count}-entry table`);
      out[i] = t.data[d[i]];
    }
    return out;
  }
  if (kind === 'smallest3') {
    const out = new Float32Array(d.length * 4);
    for (let i = 0; i < d.length; i++) {
      const x = d[i];
      const big = x >>> 30;
      const c0 = (((x >>> 20) & ROT_MAX) / ROT_MAX * 2 - 1) * SQRT1_2;
      const c1 = (((x >>> 10) & ROT_MAX) / ROT_MAX * 2 - 1) * SQRT1_2;
      const c2 = ((x & ROT_MAX) / ROT_MAX * 2 - 1) * SQRT1_2;
      const largest = Math.sqrt(Math.max(0, 1 - (c0 * c0 + c1 * c1 + c2 * c2)));
      const o = i * 4;
      const rest = [c0, c1, c2];
      let r = 0;
      for (let k = 0; k < 4; k++) out[o + k] = k === big ? largest : rest[r++];
    }
    return out;
  }
  if (kind === 'fraction') {
    const den = denominator(a, where);
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = d[i] / den;
    return out;
  }
  return fail(`${where}: unknown encoding ${repr(kind)}`);
}

function indices(a, bound, where) {
  const d = a.data;
  for (let i = 0; i < d.length; i++) if (d[i] >= bound) fail(`${where}, array '${a.name}': an index is ${d[i]}, past ${bound - 1}`);
  return d instanceof Uint32Array ? d : Uint32Array.from(d);
}

function weights(a, arrays, k, where) {
  const w = decode(a, arrays, where);
  const rows = w.length / k;
  if (a.enc.kind === 'fraction') {
    const den = denominator(a, where);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += a.data[r * k + i];
      if (s !== den) fail(`${where}: weights that are negative or do not sum to 1`);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let i = 0; i < k; i++) { const x = w[r * k + i]; if (x < 0) fail(`${where}: weights that are negative or do not sum to 1`); s += x; }
      if (Math.abs(s - 1) > 1e-3) fail(`${where}: weights that are negative or do not sum to 1`);
    }
  }
  return w;
}

/** A sparse channel-major basis. Quantised deltas stay quantised (Int8Array / Int16Array with a float32
 * scale per channel: entry e of channel k is delta[3e..3e+3] * scale[k]), so a basis costs its stored bytes
 * in memory; float deltas come with scale null. */
function basis(arrays, nCh, v, where) {
  const ptr = arrays.ptr.data;
  const index = indices(arrays.index, v, where);
  const nnz = index.length;
  if (ptr[0] !== 0 || ptr[nCh] !== nnz) fail(`${where}: channel pointers are not 0..${nnz} in order`);
  for (let c = 0; c < nCh; c++) {
    if (ptr[c + 1] < ptr[c]) fail(`${where}: channel pointers are not 0..${nnz} in order`);
    for (let e = ptr[c] + 1; e < ptr[c + 1]; e++) {
      if (index[e] <= index[e - 1]) fail(`${where}: vertex indices of a channel are not strictly increasing`);
    }
  }
  const delta = arrays.delta;
  let scale = null;
  if (delta.enc.kind === 'channel_scaled') {
    const s = typeof get(delta.enc, 'scale') === 'string' ? get(arrays, delta.enc.scale) : undefined;
    if (!s || s.dtype !== 'f32' || s.enc.kind !== 'raw' || s.shape.length !== 1 || s.shape[0] !== nCh) fail(`${where}, array 'delta': its per-channel scale is missing`);
    scale = s.data;
  } else if (delta.enc.kind !== 'raw') {
    fail(`${where}, array 'delta': unknown encoding ${repr(delta.enc.kind)}`);
  }
  return { count: nCh, ptr: ptr instanceof Uint32Array ? ptr : Uint32Array.from(ptr), index, delta: delta.data, scale };
}

/**
 * Decode a .lam file. Returns
 * {version, header, counts, chunks: [{tag, offset, storedLength, rawLength, compressed, known}],
 *  gaussians: {count, offsets, colors, opacities, scales (Float32Array N*3 / N), rotations (N*4, wxyz)},
 *  binding: {k, index: Uint32Array(N*k), weight: Float32Array(N*k)}   (identity: k = 1),
 *  mesh: {vertices: Float32Array(V*3), faces: Uint32Array(F*3)},
 *  joints: {names, parents: Int32Array, positions: Float32Array(J*3), exprdirs: Float32Array(J*3*K)},
 *  skin: {k, index: Uint32Array(V*k), weight: Float32Array(V*k)},
 *  expressions: {names, count, ptr: Uint32Array(K+1), index: Uint32Array(nnz),
 *               delta: Float32Array(nnz*3) | Int8Array | Int16Array, scale: Float32Array(K) | null},
 *  poseCorrectives: {count, ptr, index, delta, scale},
 *  landmarks: {ids: Uint32Array, faces: Uint32Array, bary: Float32Array(L*3)} | null,
 *  pointFaces: Uint32Array | null, pointFacesKind, subdivisionLevels,
 *  thumbnail: {mime, bytes: Uint8Array} | null, meta: object, rigKind, source}
 */
export async function readLam(input) {
  const container = parseContainer(input);
  const c = checkHeader(container.header);
  const header = container.header;
  const tables = isObject(get(header, 'arrays')) ? header.arrays : fail('header: arrays is missing or not an object');
  const byTag = {};
  for (const ch of container.chunks) {
    if (isCritical(ch.tag) && !KNOWN.has(ch.tag)) fail(`chunk '${ch.tag}' is critical and unknown to this reader (the file needs a newer one)`);
    if (ch.readable && ch.known && !(ch.tag === 'lmks' && !c.landmarks)) byTag[ch.tag] = ch;
  }
  const need = [...REQUIRED];
  if (c.binding === 'sparse') need.push('BIND');
  if (c.landmarks) need.push('lmks');
  if (c.pointFaces.kind === 'chunk') need.push('pfac');
  for (const tag of need) if (!has(byTag, tag)) fail(`chunk ${tag} is missing`);
  if (c.binding === 'identity' && has(byTag, 'BIND')) fail('chunk BIND is present although the binding is the identity');
  const plans = {};
  for (const [tag, ch] of Object.entries(byTag)) {
    const items = checkTable(tag, get(tables, tag), ch.rawLength);
    checkShapes(tag, c, items);
    plans[tag] = items;
  }
  const A = {};
  for (const [tag, ch] of Object.entries(byTag)) {
    const raw = ch.compressed ? await inflate(ch.stored, ch.rawLength, tag) : ch.stored;
    A[tag] = viewArrays(tag, plans[tag], raw);
  }

  const g = A.GAUS;
  const scales = decode(g.scale, g, 'chunk GAUS');
  for (let i = 0; i < scales.length; i++) if (!(scales[i] > 0)) fail('chunk GAUS: a Gaussian scale is not positive');
  let rotations = decode(g.rotation, g, 'chunk GAUS');
  if (rotations === g.rotation.data) rotations = Float32Array.from(rotations);
  for (let i = 0; i < c.gaussians; i++) {
    const o = i * 4;
    if (rotations[o] === 0 && rotations[o + 1] === 0 && rotations[o + 2] === 0 && rotations[o + 3] === 0) fail('chunk GAUS: a Gaussian rotation is a zero quaternion');
  }
  const gaussians = {
    count: c.gaussians, offsets: decode(g.offset, g, 'chunk GAUS'), colors: decode(g.color, g, 'chunk GAUS'),
    opacities: decode(g.opacity, g, 'chunk GAUS'), scales, rotations,
  };
  const m = A.MESH;
  const mesh = { vertices: decode(m.vertices, m, 'chunk MESH'), faces: indices(m.faces, c.vertices, 'chunk MESH') };
  const joints = {
    names: c.jointNames, parents: Int32Array.from(c.parents),
    positions: A.JOIN.positions.data, exprdirs: A.JOIN.exprdirs.data,
  };
  const s = A.SKIN;
  const skin = { k: c.skinK, index: indices(s.index, c.joints, 'chunk SKIN'), weight: weights(s.weight, s, c.skinK, 'chunk SKIN') };
  let binding;
  if (c.binding === 'identity') {
    const index = new Uint32Array(c.gaussians);
    for (let i = 0; i < index.length; i++) index[i] = i;
    binding = { k: 1, index, weight: new Float32Array(c.gaussians).fill(1) };
  } else {
    const b = A.BIND;
    binding = { k: c.bindK, index: indices(b.index, c.vertices, 'chunk BIND'), weight: weights(b.weight, b, c.bindK, 'chunk BIND') };
  }
  const expressions = { names: c.exprNames, ...basis(A.EXPR, c.expr, c.vertices, 'chunk EXPR') };
  const poseCorrectives = basis(A.POSE, c.poseCorrectives, c.vertices, 'chunk POSE');
  let landmarks = null;
  if (c.landmarks) {
    const l = A.lmks;
    landmarks = { ids: indices(l.ids, 2 ** 32, 'chunk lmks'), faces: indices(l.faces, c.faces, 'chunk lmks'), bary: l.bary.data };
  }
  let pointFaces = null;
  if (c.pointFaces.kind === 'base') pointFaces = mesh.faces;
  else if (c.pointFaces.kind === 'chunk') pointFaces = indices(A.pfac.faces, c.gaussians, 'chunk pfac');
  let thumbnail = null;
  if (has(A, 'thmb')) {
    const mime = get(get(header, 'thumbnail'), 'mime');
    thumbnail = { mime: THUMBNAIL_MIMES.includes(mime) ? mime : null, bytes: A.thmb.image.data };
  }
  const meta = get(header, 'meta');
  return {
    version: container.version, header, counts: c, fileSize: container.fileSize,
    chunks: container.chunks.map(({ stored, readable, flags, ...rest }) => rest),
    gaussians, binding, mesh, joints, skin, expressions, poseCorrectives, landmarks,
    pointFaces, pointFacesKind: c.pointFaces.kind, subdivisionLevels: c.pointFaces.levels,
    thumbnail, meta: isObject(meta) ? meta : {}, rigKind: c.kind, source: c.source,
  };
}
