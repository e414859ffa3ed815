"""Array tables: how a chunk's raw payload is cut into typed arrays.

The header's ``arrays`` object maps each chunk tag to ``{name: {"dtype", "shape", "at", "enc"}}``. In a chunk
the arrays lie back to back in the order of their ``at`` offsets, each starting on an 8-byte boundary, padded
with zero bytes; the raw payload ends with the last array's padding. So the raw length of every chunk follows
from its table alone and is checked before a byte is inflated.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from . import spec
from .container import Chunk
from .spec import LamFileError


@dataclass(frozen=True)
class Array:
    """One stored array: its values as stored (little-endian, read-only view) and its encoding."""

    name: str
    data: np.ndarray
    enc: dict

    @property
    def kind(self) -> str:
        return self.enc["kind"]


def lay_out(arrays: dict[str, tuple[np.ndarray, dict]]) -> tuple[bytes, dict]:
    """Writer side: (stored array, encoding) per name -> (raw payload, the chunk's table for the header)."""
    parts: list[bytes] = []
    table: dict[str, dict] = {}
    at = 0
    inverse = {np.dtype(v).str: k for k, v in spec.DTYPES.items()}
    for name, (a, enc) in arrays.items():
        a = np.ascontiguousarray(a)
        code = inverse.get(a.dtype.newbyteorder("<").str if a.dtype.byteorder == ">" else a.dtype.str)
        if code is None:
            raise ValueError(f"array {name}: dtype {a.dtype} is not one the format stores")
        raw = a.astype(spec.DTYPES[code], copy=False).tobytes()
        table[name] = {"dtype": code, "shape": list(a.shape), "at": at, "enc": enc}
        pad = spec.align(len(raw)) - len(raw)
        parts += [raw, b"\0" * pad]
        at += len(raw) + pad
    return b"".join(parts), table


def as_int(v, lo: int, hi: int, what: str) -> int:
    """A JSON integer in lo..hi (an integral number written as 5.0 counts, as it does in JavaScript)."""
    if type(v) is float and v.is_integer():
        v = int(v)
    if type(v) is not int or not lo <= v <= hi:
        raise LamFileError(f"{what} is {v!r}; expected an integer in {lo}..{hi}")
    return v


def check_table(tag: str, table, raw_len: int) -> list[tuple[str, str, tuple[int, ...], int, dict]]:
    """Validate a chunk's array table against the format and the chunk's declared raw length (nothing is
    allocated); returns (name, dtype, shape, at, enc) sorted by offset."""
    where = f"chunk {tag}"
    if not isinstance(table, dict):
        raise LamFileError(f"{where}: the header has no array table for it")
    layout = spec.LAYOUT.get(tag, {})
    items = []
    for name, d in table.items():
        w = f"{where}, array {name!r}"
        if not isinstance(d, dict):
            raise LamFileError(f"{w}: descriptor is not an object")
        dtype = d.get("dtype")
        if dtype not in spec.DTYPES:
            raise LamFileError(f"{w}: unknown dtype {dtype!r}")
        shape = d.get("shape")
        if not isinstance(shape, list) or len(shape) > spec.MAX_ARRAY_DIMS:
            raise LamFileError(f"{w}: shape {shape!r} is not a list of at most {spec.MAX_ARRAY_DIMS} sizes")
        shape = tuple(as_int(s, 0, spec.MAX_RAW_BYTES, f"{w}: a size") for s in shape)
        at = as_int(d.get("at"), 0, spec.MAX_RAW_BYTES, f"{w}: offset")
        enc = d.get("enc")
        if not isinstance(enc, dict) or not isinstance(enc.get("kind"), str):
            raise LamFileError(f"{w}: encoding is not an object with a kind")
        if name in layout and (dtype, enc["kind"]) not in layout[name][0]:
            raise LamFileError(f"{w}: {dtype} with encoding {enc['kind']!r} is not allowed here")
        items.append((name, dtype, shape, at, enc))
    for name, (_, required) in layout.items():
        if required and name not in table:
            raise LamFileError(f"{where}: array {name!r} is missing")
    items.sort(key=lambda it: it[3])
    at = 0
    for name, dtype, shape, start, _ in items:
        if start != at:
            raise LamFileError(f"{where}, array {name!r}: offset {start}, expected {at}")
        at = spec.align(start + prod(shape) * spec.DTYPE_SIZE[dtype])
        if at > raw_len:
            raise LamFileError(f"{where}, array {name!r}: extends past the chunk's {raw_len} raw bytes")
    if at != raw_len:
        raise LamFileError(f"{where}: the arrays fill {at} bytes of its {raw_len} raw bytes")
    return items


def read_arrays(chunk: Chunk, table) -> dict[str, Array]:
    """Check a chunk's table, inflate the chunk and return its arrays as read-only views."""
    items = check_table(chunk.tag, table, chunk.raw_len)
    raw = chunk.raw()
    buf = np.frombuffer(raw, dtype=np.uint8)
    out: dict[str, Array] = {}
    at = 0
    for name, dtype, shape, start, enc in items:
        if buf[at:start].any():
            raise LamFileError(f"chunk {chunk.tag}: padding before array {name!r} is not zero")
        n = prod(shape) * spec.DTYPE_SIZE[dtype]
        if n:
            a = np.frombuffer(raw, dtype=spec.DTYPES[dtype], count=prod(shape), offset=start).reshape(shape)
        else:
            a = np.zeros(shape, dtype=spec.DTYPES[dtype])
        if dtype == "f32" and not np.isfinite(a).all():
            raise LamFileError(f"chunk {chunk.tag}, array {name!r}: contains NaN or infinity")
        out[name] = Array(name, a, enc)
        at = start + n
    if buf[at:].any():
        raise LamFileError(f"chunk {chunk.tag}: trailing padding is not zero")
    return out
