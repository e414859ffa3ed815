"""A small strict reader and writer of binary glTF 2.0 (``.glb``): what the official LAM zip's ``skin.glb``
and ``animation.glb`` need, and nothing is trusted.

Reading checks the header, the chunk framing and every accessor against its buffer view and the buffer
before a byte is interpreted: counts are capped, views must lie inside the BIN chunk, an accessor's last
element inside its view, sparse indices inside the accessor. Only the GLB's own buffer is read (a ``uri``
is never followed). Writing lays arrays out 4-byte aligned, one buffer view each.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

from .errors import OfficialZipError

MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
MAX_GLB_BYTES = 256 << 20
MAX_JSON_BYTES = 16 << 20
MAX_ACCESSOR_COUNT = 1 << 24   # elements of one accessor
MAX_ITEMS = 100_000            # nodes, accessors, buffer views, animation channels ... each

COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
NORMALISED_MAX = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


def _int(value, what: str, lo: int = 0, hi: int = 1 << 40) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise OfficialZipError(f"{what} = {value!r} is not an integer in {lo}..{hi}")
    return value


@dataclass
class Glb:
    """A parsed GLB: its JSON document and BIN chunk. ``where`` names it in error messages."""

    doc: dict
    bin: bytes
    where: str = "glb"
    _cache: dict = field(default_factory=dict, repr=False)

    def fail(self, msg: str):
        raise OfficialZipError(f"{self.where}: {msg}")

    def items(self, key: str) -> list:
        v = self.doc.get(key, [])
        if not isinstance(v, list) or len(v) > MAX_ITEMS or not all(isinstance(x, dict) for x in v):
            self.fail(f"'{key}' is not a list of at most {MAX_ITEMS} objects")
        return v

    def item(self, key: str, index) -> dict:
        items = self.items(key)
        _int(index, f"{self.where}: index into '{key}'", 0, max(len(items) - 1, 0))
        if not items:
            self.fail(f"'{key}' is empty")
        return items[index]

    def _view(self, index) -> tuple[int, int, int | None]:
        bv = self.item("bufferViews", index)
        if _int(bv.get("buffer", 0), f"{self.where}: bufferViews[{index}].buffer") != 0:
            self.fail(f"bufferViews[{index}] points at buffer {bv.get('buffer')}; a GLB has one")
        off = _int(bv.get("byteOffset", 0), f"{self.where}: bufferViews[{index}].byteOffset")
        length = _int(bv.get("byteLength"), f"{self.where}: bufferViews[{index}].byteLength")
        stride = bv.get("byteStride")
        if stride is not None:
            _int(stride, f"{self.where}: bufferViews[{index}].byteStride", 4, 252)
        if off + length > len(self.bin):
            self.fail(f"bufferViews[{index}] (bytes {off}..{off + length}) lies outside the "
                      f"{len(self.bin)}-byte buffer")
        return off, length, stride

    def _read(self, view, comp, width: int, count: int, offset: int, what: str) -> np.ndarray:
        dtype = np.dtype(COMPONENTS[comp])
        elem = dtype.itemsize * width
        off, length, stride = self._view(view)
        stride = stride or elem
        if stride < elem:
            self.fail(f"{what}: byteStride {stride} is smaller than its {elem}-byte elements")
        if count and offset + stride * (count - 1) + elem > length:
            self.fail(f"{what}: {count} elements from byte {offset} run past the end of bufferViews[{view}] "
                      f"({length} bytes)")
        start = off + offset
        if stride == elem:
            return np.frombuffer(self.bin, dtype, count * width, start).reshape(count, width).copy()
        rows = np.frombuffer(self.bin, np.uint8, stride * (count - 1) + elem if count else 0, start)
        out = np.empty((count, elem), np.uint8)
        for i in range(count):  # interleaved views are rare in these files; bounded by the count cap
            out[i] = rows[i * stride:i * stride + elem]
        return out.view(dtype).reshape(count, width)

    def accessor(self, index) -> np.ndarray:
        """Accessor ``index`` as (count, width) float32 (normalised integers scaled to 0..1) or integer
        array, sparse substitution applied. Checked against its view and the buffer first."""
        if index in self._cache:
            return self._cache[index]
        a = self.item("accessors", index)
        what = f"accessors[{index}]"
        comp = a.get("componentType")
        if comp not in COMPONENTS or a.get("type") not in WIDTH:
            self.fail(f"{what} has componentType {comp!r} / type {a.get('type')!r}")
        width = WIDTH[a["type"]]
        count = _int(a.get("count"), f"{self.where}: {what}.count", 1, MAX_ACCESSOR_COUNT)
        offset = _int(a.get("byteOffset", 0), f"{self.where}: {what}.byteOffset")
        if "bufferView" in a:
            out = self._read(a["bufferView"], comp, width, count, offset, what)
        else:
            out = np.zeros((count, width), COMPONENTS[comp])
        sparse = a.get("sparse")
        if sparse is not None:
            if not isinstance(sparse, dict) or not isinstance(sparse.get("indices"), dict) \
                    or not isinstance(sparse.get("values"), dict):
                self.fail(f"{what}.sparse is malformed")
            n = _int(sparse.get("count"), f"{self.where}: {what}.sparse.count", 1, count)
            ind, val = sparse["indices"], sparse["values"]
            icomp = ind.get("componentType")
            if icomp not in (5121, 5123, 5125):
                self.fail(f"{what}.sparse.indices has componentType {icomp!r}")
            idx = self._read(ind.get("bufferView"), icomp, 1, n,
                             _int(ind.get("byteOffset", 0), f"{self.where}: {what}.sparse.indices.byteOffset"),
                             f"{what}.sparse.indices")[:, 0].astype(np.int64)
            if idx.size and (idx.max() >= count or np.any(np.diff(idx) <= 0)):
                self.fail(f"{what}.sparse.indices are not increasing indices below {count}")
            vals = self._read(val.get("bufferView"), comp, width, n,
                              _int(val.get("byteOffset", 0), f"{self.where}: {what}.sparse.values.byteOffset"),
                              f"{what}.sparse.values")
            out[idx] = vals
        if a.get("normalized") and comp in NORMALISED_MAX:
            out = np.maximum(out.astype(np.float32) / NORMALISED_MAX[comp], -1.0)
        if out.dtype == np.float32 and not np.isfinite(out).all():
            self.fail(f"{what} holds NaN or infinite values")
        self._cache[index] = out
        return out


def parse_glb(data: bytes, where: str = "glb") -> Glb:
    """Parse and frame-check GLB bytes (accessors are checked when read)."""
    if len(data) > MAX_GLB_BYTES:
        raise OfficialZipError(f"{where}: {len(data)} bytes is more than {MAX_GLB_BYTES >> 20} MiB")
    if len(data) < 20 or data[:4] != MAGIC:
        raise OfficialZipError(f"{where}: not a binary glTF file (no 'glTF' header)")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        raise OfficialZipError(f"{where}: glTF version {version}, expected 2")
    if length != len(data):
        raise OfficialZipError(f"{where}: header says {length} bytes, the file has {len(data)}")
    pos, doc, bin_ = 12, None, b""
    while pos < len(data):
        if pos + 8 > len(data):
            raise OfficialZipError(f"{where}: truncated chunk header at byte {pos}")
        clen, ctype = struct.unpack_from("<II", data, pos)
        if pos + 8 + clen > len(data):
            raise OfficialZipError(f"{where}: chunk at byte {pos} ({clen} bytes) runs past the end")
        body = data[pos + 8:pos + 8 + clen]
        if doc is None:
            if ctype != CHUNK_JSON:
                raise OfficialZipError(f"{where}: the first chunk is not JSON")
            if clen > MAX_JSON_BYTES:
                raise OfficialZipError(f"{where}: JSON chunk of {clen} bytes is more than {MAX_JSON_BYTES >> 20} MiB")
            try:
                doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise OfficialZipError(f"{where}: the JSON chunk is not valid JSON") from None
            if not isinstance(doc, dict):
                raise OfficialZipError(f"{where}: the JSON chunk is not an object")
        elif ctype == CHUNK_BIN and not bin_:
            bin_ = body
        pos += 8 + clen
    if doc is None:
        raise OfficialZipError(f"{where}: no JSON chunk")
    buffers = doc.get("buffers", [])
    if not isinstance(buffers, list) or len(buffers) > 1:
        raise OfficialZipError(f"{where}: {len(buffers) if isinstance(buffers, list) else '?'} buffers; "
                               "only the GLB's own one is read")
    if buffers:
        b0 = buffers[0]
        if not isinstance(b0, dict) or "uri" in b0:
            raise OfficialZipError(f"{where}: buffer 0 names an external uri; only the GLB's own buffer is read")
        blen = _int(b0.get("byteLength"), f"{where}: buffers[0].byteLength")
        if blen > len(bin_):
            raise OfficialZipError(f"{where}: buffers[0] says {blen} bytes, the BIN chunk has {len(bin_)}")
        bin_ = bin_[:blen]
    return Glb(doc=doc, bin=bytes(bin_), where=where)


class GlbBuilder:
    """Collects arrays into one buffer (4-byte aligned views) and accessors; :meth:`to_bytes` frames the GLB."""

    def __init__(self) -> None:
        self.doc: dict = {"asset": {"version": "2.0", "generator": "lam-avatar exporter.official_zip"},
                          "buffers": [], "bufferViews": [], "accessors": []}
        self._parts: list[bytes] = []
        self._size = 0

    def view(self, raw: bytes, target: int | None = None) -> int:
        pad = (-self._size) % 4
        if pad:
            self._parts.append(b"\0" * pad)
            self._size += pad
        bv = {"buffer": 0, "byteOffset": self._size, "byteLength": len(raw)}
        if target is not None:
            bv["target"] = target
        self._parts.append(raw)
        self._size += len(raw)
        self.doc["bufferViews"].append(bv)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, type_: str, *, target: int | None = None, minmax: bool = False,
                 normalized: bool = False) -> int:
        a = np.ascontiguousarray(array)
        comp = {np.dtype(v): k for k, v in COMPONENTS.items()}[a.dtype]
        width = WIDTH[type_]
        flat = a.reshape(-1, width)
        acc = {"bufferView": self.view(flat.tobytes(), target), "componentType": comp, "count": len(flat),
               "type": type_}
        if normalized:
            acc["normalized"] = True
        if minmax:
            acc["min"] = [float(x) if a.dtype == np.float32 else int(x) for x in flat.min(0)]
            acc["max"] = [float(x) if a.dtype == np.float32 else int(x) for x in flat.max(0)]
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def to_bytes(self) -> bytes:
        bin_ = b"".join(self._parts)
        bin_ += b"\0" * ((-len(bin_)) % 4)
        self.doc["buffers"] = [{"byteLength": len(bin_)}]
        js = json.dumps(self.doc, separators=(",", ":")).encode("utf-8")
        js += b" " * ((-len(js)) % 4)
        total = 12 + 8 + len(js) + 8 + len(bin_)
        return b"".join([MAGIC, struct.pack("<II", 2, total), struct.pack("<II", len(js), CHUNK_JSON), js,
                         struct.pack("<II", len(bin_), CHUNK_BIN), bin_])
