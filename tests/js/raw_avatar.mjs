// Reads the raw avatar fixture written by tests/viewer_support.py (avatar.json + avatar.bin) into the
// viewer's avatar structure. Test-only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const TYPES = { float32: Float32Array, uint32: Uint32Array, int32: Int32Array, uint16: Uint16Array, uint8: Uint8Array, int8: Int8Array, int16: Int16Array };

export function readRawAvatar(dir) {
  const meta = JSON.parse(readFileSync(join(dir, 'avatar.json'), 'utf8'));
  const bin = readFileSync(join(dir, 'avatar.bin'));
  const buf = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const arr = (name) => {
    const t = meta.arrays[name];
    return new TYPES[t.dtype](buf, t.offset, t.length);
  };
  const basis = (name, count) => ({ count, ptr: arr(`${name}.ptr`), index: arr(`${name}.index`), delta: arr(`${name}.delta`), scale: null });
  const parents = arr('parents');
  return {
    n: meta.n, nVertices: meta.nVertices, exprNames: meta.exprNames, jointNames: meta.jointNames,
    parents, jointRest: arr('jointRest'), jointExpr: arr('jointExpr'), vertices: arr('vertices'),
    expr: basis('expr', meta.exprNames.length), pose: basis('pose', (parents.length - 1) * 9),
    skinK: meta.skinK, skinIndex: arr('skinIndex'), skinWeight: arr('skinWeight'),
    bindK: meta.bindK, bindIndex: arr('bindIndex'), bindWeight: arr('bindWeight'),
    offsets: arr('offsets'), colors: arr('colors'), opacities: arr('opacities'), scales: arr('scales'), rotations: arr('rotations'),
  };
}
