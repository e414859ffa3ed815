// Drives viewer_web/src/lam_reader.js for the pytest suite (tests/test_lamfile_js.py), one Node process per call.
//
//   node --expose-gc lam_reader_driver.mjs dump FILE.lam OUT_DIR [--misaligned]
//                                          decode (the file at an odd offset with --misaligned); write every array
//                                          as OUT_DIR/<name>.bin and OUT_DIR/manifest.json
//   node --expose-gc lam_reader_driver.mjs fuzz CASES.json          decode every case file listed; print one JSON
//                                                                   result per case (outcome, message, memory)
//   node lam_reader_driver.mjs limits                               print the reader's constants as JSON

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIMITS, LAYOUT, MAGIC, VERSION_MAJOR, VERSION_MINOR, LamFormatError, readLam } from '../../viewer_web/src/lam_reader.js';
import { avatarFromLam } from '../../viewer_web/src/lam_adapter.js';
import { checkAvatar } from '../../viewer_web/src/avatar.js';

const [mode, ...args] = process.argv.slice(2);

// a basis's deltas as float32, dequantised as the Python reader does (double precision, one rounding)
function deltas(b) {
  if (!b.scale) return b.delta;
  const out = new Float32Array(b.delta.length);
  for (let k = 0; k < b.count; k++) {
    for (let e = b.ptr[k] * 3; e < b.ptr[k + 1] * 3; e++) out[e] = b.delta[e] * b.scale[k];
  }
  return out;
}

function arraysOf(lam) {
  const out = {
    'gaussians.offsets': lam.gaussians.offsets, 'gaussians.colors': lam.gaussians.colors,
    'gaussians.opacities': lam.gaussians.opacities, 'gaussians.scales': lam.gaussians.scales,
    'gaussians.rotations': lam.gaussians.rotations,
    'binding.index': lam.binding.index, 'binding.weight': lam.binding.weight,
    'mesh.vertices': lam.mesh.vertices, 'mesh.faces': lam.mesh.faces,
    'joints.parents': lam.joints.parents, 'joints.positions': lam.joints.positions, 'joints.exprdirs': lam.joints.exprdirs,
    'skin.index': lam.skin.index, 'skin.weight': lam.skin.weight,
    'expressions.ptr': lam.expressions.ptr, 'expressions.index': lam.expressions.index, 'expressions.delta': deltas(lam.expressions),
    'pose.ptr': lam.poseCorrectives.ptr, 'pose.index': lam.poseCorrectives.index, 'pose.delta': deltas(lam.poseCorrectives),
  };
  if (lam.landmarks) Object.assign(out, { 'landmarks.ids': lam.landmarks.ids, 'landmarks.faces': lam.landmarks.faces, 'landmarks.bary': lam.landmarks.bary });
  if (lam.pointFaces) out.pointFaces = lam.pointFaces;
  if (lam.thumbnail) out.thumbnail = lam.thumbnail.bytes;
  return out;
}

async function dump(file, dir, misaligned) {
  let bytes = new Uint8Array(readFileSync(file));
  if (misaligned) {  // the file at an odd offset of a larger buffer: typed arrays cannot view it in place
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    bytes = big.subarray(3);
  }
  const lam = await readLam(bytes);
  checkAvatar(avatarFromLam(lam));  // what the viewer makes of a valid file is a valid avatar (it is not re-checked)
  const manifest = { arrays: {}, counts: lam.counts, header: lam.header, meta: lam.meta, version: lam.version,
    thumbnailMime: lam.thumbnail?.mime ?? null, bindK: lam.binding.k, skinK: lam.skin.k, chunks: lam.chunks,
    pointFacesKind: lam.pointFacesKind, subdivisionLevels: lam.subdivisionLevels, names: { joints: lam.joints.names, expr: lam.expressions.names },
    deltaTypes: { expr: lam.expressions.delta.constructor.name, pose: lam.poseCorrectives.delta.constructor.name } };
  for (const [name, a] of Object.entries(arraysOf(lam))) {
    writeFileSync(join(dir, `${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    manifest.arrays[name] = { type: a.constructor.name, length: a.length };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

async function fuzz(casesFile) {
  const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
  const results = [];
  for (const c of cases) {
    const bytes = readFileSync(c.path);
    globalThis.gc?.();
    const before = used();
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, used()); }, 1);
    let outcome;
    let message = '';
    try {
      await readLam(bytes);
      outcome = 'ok';
    } catch (e) {
      outcome = e instanceof LamFormatError ? 'error' : 'crash';
      message = `${e.name}: ${e.message}`;
    }
    clearInterval(timer);
    peak = Math.max(peak, used());
    results.push({ name: c.name, outcome, message, size: bytes.length, memDelta: peak - before });
  }
  process.stdout.write(JSON.stringify(results));
}

if (mode === 'dump') await dump(args[0], args[1], args[2] === '--misaligned');
else if (mode === 'fuzz') await fuzz(args[0]);
else if (mode === 'limits') {
  const layout = Object.fromEntries(Object.entries(LAYOUT).map(([t, arrays]) => [t,
    Object.fromEntries(Object.entries(arrays).map(([n, [allowed, req]]) => [n, [[...allowed].sort(), req]]))]));
  process.stdout.write(JSON.stringify({ LIMITS, MAGIC, VERSION_MAJOR, VERSION_MINOR, LAYOUT: layout }));
} else {
  console.error('usage: lam_reader_driver.mjs dump FILE OUT_DIR | fuzz CASES.json | limits');
  process.exit(2);
}
