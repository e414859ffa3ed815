"""The fuzz corpus both .lam readers are run on (tests/test_lamfile_fuzz.py): damaged and crafted files, each
with the outcome a reader must give ("error": a clean format error; "ok": the file decodes).

Kinds: wrong magic and versions, truncation at every chunk boundary (and one byte either side) and at random
offsets, random single-bit flips and byte smears, and crafted files whose checksums are recomputed so the
damage reaches the deeper checks: absurd counts and lengths in the header and chunk headers, bad array tables,
decompression bombs, broken deflate streams, out-of-range indices, weights that do not sum to one, NaNs.
"""

from __future__ import annotations

import copy
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from exporter.lamfile import encode_lam, spec
from tests.lam_support import PNG_1x1, chunk_boundaries, frame, split, tiny_avatar


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    expect: str  # "error" or "ok"


def _table(header: dict, tag: str, name: str) -> dict:
    return header["arrays"][tag][name]


def _get(header, chunks, tag, name) -> np.ndarray:
    d = _table(header, tag, name)
    raw = next(c for c in chunks if c[0] == tag)[2]
    dt = spec.DTYPES[d["dtype"]]
    n = int(np.prod(d["shape"]))
    return np.frombuffer(raw, dtype=dt, count=n, offset=d["at"]).reshape(d["shape"]).copy()


def _put(header, chunks, tag, name, a: np.ndarray) -> None:
    d = _table(header, tag, name)
    ch = next(c for c in chunks if c[0] == tag)
    b = np.ascontiguousarray(a, dtype=spec.DTYPES[d["dtype"]]).tobytes()
    ch[2] = ch[2][:d["at"]] + b + ch[2][d["at"] + len(b):]


class Crafter:
    """Edits of a valid file (header dict, chunk list) that are framed again with valid checksums."""

    def __init__(self, data: bytes):
        self.header, self.chunks = split(data)

    def make(self, edit, **frame_kw) -> bytes:
        h, c = copy.deepcopy(self.header), copy.deepcopy(self.chunks)
        out = edit(h, c)
        if isinstance(out, bytes):
            return out
        return frame(h, c, **frame_kw)


def _set(path: str, value):
    def edit(h, c):
        node = h
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return edit


class _Delete:
    def __repr__(self) -> str:
        return "<deleted>"

    __str__ = __repr__


DELETE = _Delete()


def _chunk(tag: str, **changes):
    def edit(h, c):
        ch = next(x for x in c if x[0] == tag)
        for k, v in changes.items():
            if k == "flags":
                ch[1] = v
            elif k == "raw":
                ch[2] = v(ch[2]) if callable(v) else v
    return edit


def _stored(tag: str, stored_fn, raw_len_fn=None):
    """Replace a chunk with [tag, flags, stored, raw_len] given as they are."""
    def edit(h, c):
        i = next(k for k, x in enumerate(c) if x[0] == tag)
        t, flags, raw = c[i]
        c[i] = [t, flags | spec.FLAG_DEFLATE, stored_fn(raw), raw_len_fn(raw) if raw_len_fn else len(raw)]
    return edit


def _array(tag: str, name: str, fn):
    def edit(h, c):
        a = _get(h, c, tag, name)
        _put(h, c, tag, name, fn(a))
    return edit


def _relayout(tag: str, fn):
    """Change a chunk's arrays (name -> (array, enc)) and lay the chunk out again, table included."""
    from exporter.lamfile.arrays import lay_out

    def edit(h, c):
        d = {name: (_get(h, c, tag, name), desc["enc"]) for name, desc in h["arrays"][tag].items()}
        fn(d)
        raw, table = lay_out(d)
        h["arrays"][tag] = table
        next(x for x in c if x[0] == tag)[2] = raw
    return edit


def _with(a, idx, value):
    a = a.copy()
    a[idx] = value
    return a


def crafted(quantised: bytes, lossless: bytes) -> list[Case]:
    q, l = Crafter(quantised), Crafter(lossless)
    cases: list[tuple[str, Crafter, object, str]] = []
    E = "error"

    def add(name, crafter, edit, expect=E):
        cases.append((name, crafter, edit, expect))

    # header fields
    for path, value in [
        ("gaussians.count", 2 ** 40), ("gaussians.count", -1), ("gaussians.count", 1.5), ("gaussians.count", "162"),
        ("gaussians.count", None), ("gaussians.count", True), ("gaussians.count", 1e300), ("gaussians.count", 163),
        ("rig.vertices", 2 ** 31), ("rig.vertices", 0), ("rig.faces", 2 ** 26), ("rig.faces", 81),
        ("rig.joint_names", []), ("rig.joint_names", [f"j{i}" for i in range(2000)]), ("rig.joint_names", [1, 2, 3, 4, 5]),
        ("rig.joint_names", ["a", "a", "b", "c", "d"]), ("rig.joint_names", ["x" * 300, "b", "c", "d", "e"]),
        ("rig.parents", [-1, 0, 1, 1]), ("rig.parents", [-1, 0, 5, 1, 1]), ("rig.parents", [0, 0, 1, 1, 1]),
        ("rig.parents", [-1, 0, 1, 1, 4]), ("rig.expr_names", [f"e{i}" for i in range(9000)]),
        ("rig.expr_names", ["expr_00"] * 7), ("rig.expr_names", ["expr_00"]), ("rig.pose_correctives", 35),
        ("rig.landmarks", 10 ** 9), ("rig.landmarks", 13), ("rig.skin_k", 0), ("rig.skin_k", 99),
        ("gaussians.bind_k", 100), ("gaussians.bind_k", 3), ("gaussians.binding", "weird"),
        ("gaussians.binding", "identity"), ("gaussians.point_faces", {"kind": "subdivision", "levels": 99}),
        ("gaussians.point_faces", {"kind": "subdivision", "levels": 2}), ("gaussians.point_faces", {"kind": "??"}),
        ("gaussians.point_faces", {"kind": "base"}), ("gaussians.point_faces", None), ("encoding", "zip"),
        ("encoding", DELETE), ("rig", DELETE), ("rig", []), ("gaussians", "x"), ("arrays", DELETE), ("arrays", []),
        ("arrays.GAUS", DELETE), ("arrays.EXPR", 7),
    ]:
        add(f"header {path}={str(value)[:30]}", q, _set(path, value))
    # an adaptive claim with far more faces than points (rebuilding its faces would cost time linear in them)
    def _adaptive_many_faces(h, c):
        _set("gaussians.point_faces", {"kind": "adaptive"})(h, c)
        _set("rig.faces", 2 ** 24)(h, c)
    add("header adaptive point faces with 2^24 faces", q, _adaptive_many_faces)
    # harmless header changes a reader must accept
    for path, value in [("meta", "not an object"), ("thumbnail", {"mime": "image/gif"}), ("producer", 12),
                        ("units", DELETE), ("rig.kind", 5), ("rig.source", ["x"]), ("future_field", {"a": 1}),
                        ("gaussians.count", 162.0), ("gaussians.point_faces", {"kind": "adaptive"})]:
        add(f"header accepts {path}={str(value)[:30]}", q, _set(path, value), "ok")
    # not JSON / not an object / too deep
    for name, text in [("not json", b"{not json"), ("array", b"[1,2,3]"), ("bad utf-8", b'{"a":"\xff\xfe"}'),
                       ("deep nesting", b"[" * 30000 + b"]" * 30000),
                       ("too many values", b"[" + b"[]," * 40000 + b"0]"), ("flat arrays", b"[" + b"[]," * 30000 + b"0]"), ("NaN", b'{"encoding": NaN}'),
                       ("empty", b"  ")]:
        add(f"header {name}", q, lambda h, c, t=text: frame(t, c))
    # array tables
    for tag, name, key, value in [
        ("GAUS", "offset", "dtype", "f64"), ("GAUS", "offset", "dtype", None), ("GAUS", "offset", "shape", [2 ** 30] * 4),
        ("GAUS", "offset", "shape", [162, 3, 1, 1, 1]), ("GAUS", "offset", "shape", [-162, 3]),
        ("GAUS", "offset", "shape", [163, 3]), ("GAUS", "offset", "shape", "162x3"), ("GAUS", "color", "at", 4),
        ("GAUS", "color", "at", 0), ("GAUS", "color", "at", 2 ** 40), ("GAUS", "offset", "enc", {"kind": "zstd"}),
        ("GAUS", "offset", "enc", {"kind": "raw"}), ("GAUS", "offset", "enc", "linear"),
        ("GAUS", "offset", "enc", {"kind": "linear", "min": [0, 0], "step": [1, 1]}),
        ("GAUS", "offset", "enc", {"kind": "linear", "min": [1e300, 0, 0], "step": [1, 1, 1]}),
        ("GAUS", "offset", "enc", {"kind": "linear", "min": [0, 0, 0], "step": [-1, 1, 1]}),
        ("GAUS", "offset", "enc", {"kind": "linear", "min": [0, 0, "0"], "step": [1, 1, 1]}),
        ("GAUS", "scale", "enc", {"kind": "table", "table": "nope"}),
        ("GAUS", "scale", "enc", {"kind": "table", "table": "scale"}),
        ("GAUS", "scale", "enc", {"kind": "table", "table": "__proto__"}),
        ("GAUS", "scale_table", "shape", [10]), ("BIND", "weight", "enc", {"kind": "fraction", "denominator": 0}),
        ("BIND", "weight", "enc", {"kind": "fraction", "denominator": 70000}),
        ("BIND", "weight", "enc", {"kind": "fraction", "denominator": 32767}),
        ("EXPR", "delta", "enc", {"kind": "channel_scaled", "scale": "ptr"}),
        ("EXPR", "delta", "enc", {"kind": "channel_scaled"}), ("EXPR", "index", "shape", [10 ** 9]),
        ("EXPR", "ptr", "shape", [7]), ("MESH", "faces", "dtype", "u8"), ("SKIN", "index", "dtype", "u32"),
    ]:
        add(f"table {tag}.{name}.{key}={str(value)[:30]}", q, _set(f"arrays.{tag}.{name}.{key}", value))
    add("table GAUS.rotation missing", q, _set("arrays.GAUS.rotation", DELETE))
    add("table GAUS.__proto__ extra", q, _set("arrays.GAUS.__proto__", {"dtype": "u8", "shape": [1], "at": 0,
                                                                     "enc": {"kind": "raw"}}))
    add("table GAUS.constructor scale table", q, lambda h, c: (
        h["arrays"]["GAUS"].__setitem__("constructor", h["arrays"]["GAUS"].pop("scale_table")),
        h["arrays"]["GAUS"]["scale"]["enc"].__setitem__("table", "constructor")) and None, "ok")
    # chunk headers and payloads
    tags = [c[0] for c in q.chunks]
    for tag in tags:
        add(f"chunk {tag} dropped", q, lambda h, c, t=tag: c.__setitem__(slice(None), [x for x in c if x[0] != t]),
            "ok" if tag == "thmb" else E)
        add(f"chunk {tag} duplicated", q, lambda h, c, t=tag: c.append(copy.deepcopy(next(x for x in c if x[0] == t))))
        add(f"chunk {tag} raw + 8 bytes", q, _chunk(tag, raw=lambda r: r + b"\0" * 8))
        add(f"chunk {tag} raw - 8 bytes", q, _chunk(tag, raw=lambda r: r[:-8]))
        add(f"chunk {tag} unknown flags", q, _chunk(tag, flags=0x40), "ok" if tag == "thmb" else E)
        add(f"chunk {tag} trailing junk after deflate", q, _stored(tag, lambda r: zlib.compress(r) + b"junk!"))
        add(f"chunk {tag} truncated deflate", q, _stored(tag, lambda r: zlib.compress(r)[:-6]))
        add(f"chunk {tag} random deflate", q, _stored(tag, lambda r: bytes(np.random.default_rng(len(r)).integers(
            0, 256, 64, dtype=np.uint8))))
        add(f"chunk {tag} deflate bomb", q, _stored(tag, lambda r: zlib.compress(r + b"\0" * (16 << 20), 9)))
        add(f"chunk {tag} raw length 2**32-1", q, _stored(tag, zlib.compress, lambda r: 2 ** 32 - 1))
        add(f"chunk {tag} raw length short", q, _stored(tag, zlib.compress, lambda r: len(r) - 1))
    add("chunk unknown critical", q, lambda h, c: c.append(["QQQQ", 0, b"new"]))
    add("chunk unknown ancillary", q, lambda h, c: c.append(["qqqq", 0, b"new"]), "ok")
    add("chunk unknown ancillary deflated", q, lambda h, c: c.append(["qqqq", 1, b"new" * 100]), "ok")
    add("chunk tag not letters", q, lambda h, c: c.append(["q1qq", 0, b"new"]))
    add("chunk tag with NUL", q, lambda h, c: c.append(["qq\0q", 0, b"new"]))
    add("chunk count too high", q, lambda h, c: frame(h, c, n_chunks=len(c) + 1))
    add("chunk count too low", q, lambda h, c: frame(h, c, n_chunks=len(c) - 1))
    add("chunk count 2**32-1", q, lambda h, c: frame(h, c, n_chunks=2 ** 32 - 1))
    add("header length 2**32-8", q, lambda h, c: frame(h, c, header_len=2 ** 32 - 8))
    add("header length odd", q, lambda h, c: frame(h, c, header_len=13))
    add("trailing bytes", q, lambda h, c: frame(h, c) + b"\0" * 8)
    add("reserved field", q, lambda h, c: _poke(frame(h, c), _first_chunk(h) + 20, 1))
    add("padding not zero", q, lambda h, c: _poke_padding(frame(h, c)))
    add("uncompressed raw != stored", q, lambda h, c: _raw_len_plain(h, c))
    add("stored length 2**32-1", q, lambda h, c: _stored_len(frame(h, c), _first_chunk(h), 2 ** 32 - 1))
    # values
    V, F, N = q.header["rig"]["vertices"], q.header["rig"]["faces"], q.header["gaussians"]["count"]
    for name, edit in [
        ("face index = V", _array("MESH", "faces", lambda a: _with(a, (3, 1), V))),
        ("bind index = V", _array("BIND", "index", lambda a: _with(a, (5, 0), V))),
        ("bind weights sum", _array("BIND", "weight", lambda a: _with(a, (5, 0), a[5, 0] + 1))),
        ("skin index = J", _array("SKIN", "index", lambda a: _with(a, (0, 0), 5))),
        ("skin weights sum", _array("SKIN", "weight", lambda a: _with(a, (0, 0), a[0, 0] - 1))),
        ("expr ptr[0] != 0", _array("EXPR", "ptr", lambda a: _with(a, 0, 1))),
        ("expr ptr not monotone", _array("EXPR", "ptr", lambda a: _with(a, 3, a[4] + 1))),
        ("expr ptr end != nnz", _array("EXPR", "ptr", lambda a: _with(a, -1, a[-1] - 1))),
        ("expr index = V", _array("EXPR", "index", lambda a: _with(a, 2, V))),
        ("expr index not increasing", _array("EXPR", "index", lambda a: _with(a, 2, a[1]))),
        ("pose index = V", _array("POSE", "index", lambda a: _with(a, -1, V))),
        ("scale table negative", _array("GAUS", "scale_table", lambda a: -a)),
        ("scale table zero", _array("GAUS", "scale_table", lambda a: a * 0)),
        ("scale table NaN", _array("GAUS", "scale_table", lambda a: _with(a, 0, np.nan))),
        ("landmark face = F", _array("lmks", "faces", lambda a: _with(a, 0, F))),
        ("landmark bary inf", _array("lmks", "bary", lambda a: _with(a, (0, 0), np.inf))),
        ("scale index past a short table", _relayout("GAUS", lambda d: d.__setitem__(
            "scale_table", (d["scale_table"][0][:10], d["scale_table"][1])))),
    ]:
        add(f"value {name}", q, edit)
    add("value rotations as f32 raw accepted", q, _relayout("GAUS", lambda d: d.__setitem__(
        "rotation", (np.tile(np.float32([1, 0, 0, 0]), (N, 1)), {"kind": "raw"}))), "ok")
    for name, edit in [
        ("zero quaternion", _array("GAUS", "rotation", lambda a: _with(a, 7, 0))),
        ("NaN offset", _array("GAUS", "offset", lambda a: _with(a, (1, 1), np.nan))),
        ("inf vertex", _array("MESH", "vertices", lambda a: _with(a, (1, 1), -np.inf))),
        ("negative scale", _array("GAUS", "scale", lambda a: _with(a, (1, 1), -1e-3))),
        ("negative skin weight", _array("SKIN", "weight", lambda a: _with(a, (0, 0), -0.5))),
        ("skin weights sum 1.01", _array("SKIN", "weight", lambda a: _with(a, (0, 0), a[0, 0] + 0.01))),
        ("bind weights sum 0.9", _array("BIND", "weight", lambda a: _with(a, (0, 0), a[0, 0] - 0.1))),
        ("NaN joint", _array("JOIN", "positions", lambda a: _with(a, (0, 0), np.nan))),
    ]:
        add(f"lossless value {name}", l, edit)
    return [Case(name, cr.make(edit), expect) for name, cr, edit, expect in cases]


def _first_chunk(h: dict) -> int:
    import json
    n = len(json.dumps(h).encode())
    return 24 + n + (-n % 8)


def _poke(data: bytes, at: int, value: int) -> bytes:
    b = bytearray(data)
    b[at] = value
    return bytes(b)


def _poke_padding(data: bytes) -> bytes:
    from exporter.lamfile.container import parse
    for ch in parse(data).chunks:
        end = ch.offset + 24 + ch.stored_len
        if end % 8:
            return _poke(data, end, 1)
    raise AssertionError("no padding to poke")


def _raw_len_plain(h, c) -> bytes:
    i = next(k for k, x in enumerate(c) if x[0] == "GAUS")
    c[i] = ["GAUS", 0, c[i][2], len(c[i][2]) + 8]
    return frame(h, c)


def _stored_len(data: bytes, at: int, value: int) -> bytes:
    b = bytearray(data)
    b[at + 8:at + 12] = struct.pack("<I", value)
    return bytes(b)


def damaged(data: bytes, label: str, rng: np.random.Generator, flips: int, cuts: int, boundary: bool = True) -> list[Case]:
    """Truncations (every chunk boundary and one byte either side, random cuts), single-bit flips, smears."""
    out = []
    if boundary:
        for cut in chunk_boundaries(data):
            for c in (cut - 1, cut, cut + 1):
                if 0 <= c < len(data):
                    out.append(Case(f"{label} truncated at {c}", data[:c], "error"))
    for c in rng.integers(0, len(data), cuts):
        out.append(Case(f"{label} truncated at {c}", data[:c], "error"))
    for _ in range(flips):
        at = int(rng.integers(0, len(data)))
        bit = int(rng.integers(0, 8))
        out.append(Case(f"{label} bit {bit} of byte {at} flipped", _poke(data, at, data[at] ^ (1 << bit)), "error"))
    for _ in range(max(flips // 20, 1)):
        at = int(rng.integers(0, len(data) - 16))
        b = bytearray(data)
        b[at:at + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        if bytes(b) != data:
            out.append(Case(f"{label} 16 random bytes at {at}", bytes(b), "error"))
    return out


def magic_and_version(data: bytes) -> list[Case]:
    out = [Case("empty file", b"", "error"), Case("text file", b"hello, this is not a .lam file\n" * 4, "error"),
           Case("PNG file", PNG_1x1, "error")]
    for i in range(8):
        out.append(Case(f"magic byte {i} changed", _poke(data, i, data[i] ^ 0x20), "error"))
    for n in range(1, 24):
        out.append(Case(f"first {n} bytes", data[:n], "error"))
    header, chunks = split(data)
    for major, minor in ((0, 9), (2, 0), (65535, 0)):
        out.append(Case(f"version {major}.{minor}", frame(header, chunks, version=(major, minor)), "error"))
    for minor in (1, 65535):
        out.append(Case(f"version 1.{minor}", frame(header, chunks, version=(1, minor)), "ok"))
    return out


def corpus(flame_quantised: bytes, seed: int = 0, flips: int = 1500) -> list[Case]:
    rng = np.random.default_rng(seed)
    a = tiny_avatar()
    quantised = encode_lam(a, thumbnail=PNG_1x1, thumbnail_mime="image/png", meta={"note": "fuzz base"})
    lossless = encode_lam(a, lossless=True)
    cases = [Case("tiny quantised as written", quantised, "ok"), Case("tiny lossless as written", lossless, "ok"),
             Case("FLAME-layout quantised as written", flame_quantised, "ok")]
    cases += magic_and_version(quantised)
    cases += damaged(quantised, "tiny quantised", rng, flips, 100)
    cases += damaged(lossless, "tiny lossless", rng, flips // 3, 30)
    cases += damaged(flame_quantised, "FLAME quantised", rng, 60, 30)
    cases += crafted(quantised, lossless)
    return cases
