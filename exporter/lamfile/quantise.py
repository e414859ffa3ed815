"""Encodings of the ``.lam`` arrays: how values are turned into small integers and back.

Every decoder evaluates its formula in IEEE double precision, in the order written in the specification,
and rounds once to float32; the JavaScript reader does the same, so both readers produce identical numbers.
No decoder uses exp/log/trig (whose last bit differs between math libraries): log-spaced values go through
a table stored in the file.
"""

from __future__ import annotations

import math

import numpy as np

from .arrays import Array, as_int
from .spec import LamFileError

SQRT1_2 = math.sqrt(0.5)
ROT_BITS = 10
ROT_MAX = (1 << ROT_BITS) - 1
MAX_PARAM = 1e9
FRACTION_DEN = 1 << 15  # rows of binding and skin weights sum exactly to this; exact for dyadic weights


# ---------------------------------------------------------------------------------------------- writers
def enc_raw() -> dict:
    return {"kind": "raw"}


def linear(x: np.ndarray, bits: int) -> tuple[np.ndarray, dict]:
    """Per-component uniform quantisation over the values' own range: value = min + q * step."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(len(x), -1) if x.ndim > 1 else x.reshape(-1, 1)
    qmax = (1 << bits) - 1
    lo = flat.min(0) if len(flat) else np.zeros(flat.shape[1])
    hi = flat.max(0) if len(flat) else np.zeros(flat.shape[1])
    step = (hi - lo) / qmax
    safe = np.where(step > 0, step, 1.0)
    q = np.clip(np.rint((flat - lo) / safe), 0, qmax).astype(np.uint8 if bits <= 8 else np.uint16)
    return q.reshape(x.shape), {"kind": "linear", "min": [float(v) for v in lo], "step": [float(v) for v in step]}


def _lloyd_max(lx: np.ndarray, n: int, iterations: int = 12) -> np.ndarray:
    """A 1-D codebook of ``n`` levels minimising squared error, started from the quantiles."""
    levels = np.unique(np.quantile(lx, (np.arange(n) + 0.5) / n))
    for _ in range(iterations):
        edges = (levels[1:] + levels[:-1]) / 2
        cell = np.searchsorted(edges, lx)
        sums = np.bincount(cell, weights=lx, minlength=len(levels))
        counts = np.bincount(cell, minlength=len(levels))
        levels = np.unique(np.where(counts > 0, sums / np.maximum(counts, 1), levels))
    return levels


def log_table(x: np.ndarray, bits: int, kind: str = "log_uniform") -> tuple[np.ndarray, np.ndarray, dict]:
    """Positive values -> indices into a table of at most 2**bits float32 values: log-uniformly spaced over
    the values' range (``log_uniform``), or the Lloyd-Max levels of their logarithms (``lloyd``, with an even
    backbone over the range)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size and x.min() <= 0:
        raise ValueError("log table: values must be positive")
    n = 1 << bits
    lo, hi = (np.log(x.min()), np.log(x.max())) if x.size else (0.0, 0.0)
    if kind == "lloyd" and x.size:
        # Lloyd-Max levels of the log scales, fitted together with an even backbone of pseudo-samples (a fifth
        # as many as the scales) so that no part of the range is left without levels
        lx = np.log(x).ravel()
        backbone = np.linspace(lo, hi, max(len(lx) // 5, 2))
        table = np.unique(np.exp(_lloyd_max(np.concatenate([lx, backbone]), n)).astype(np.float32))
    else:
        table = np.exp(np.linspace(lo, hi, n)).astype(np.float32)
    n = len(table)
    lt = np.log(table.astype(np.float64))
    # nearest in log space: search the sorted table, compare both neighbours
    lx = np.log(x) if x.size else x
    if n == 1:
        return np.zeros(x.shape, np.uint8), table, {"kind": "table", "table": "scale_table"}
    i = np.clip(np.searchsorted(lt, lx), 1, n - 1)
    q = np.where(np.abs(lx - lt[i - 1]) <= np.abs(lt[i] - lx), i - 1, i)
    q = q.astype(np.uint8 if bits <= 8 else np.uint16)
    return q, table, {"kind": "table", "table": "scale_table"}


def smallest3(q: np.ndarray) -> tuple[np.ndarray, dict]:
    """Unit quaternions (N, 4) -> u32: 2 bits for the index of the largest |component| (made positive),
    then the other three in order, 10 bits each, uniform over [-1/sqrt 2, 1/sqrt 2]."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    big = np.abs(q).argmax(1)
    q = q * np.where(q[np.arange(len(q)), big] < 0, -1.0, 1.0)[:, None]
    others = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[big]
    rest = np.take_along_axis(q, others, 1)
    v = np.clip(np.rint((rest / SQRT1_2 + 1.0) * 0.5 * ROT_MAX), 0, ROT_MAX).astype(np.uint32)
    packed = (big.astype(np.uint32) << 30) | (v[:, 0] << 20) | (v[:, 1] << 10) | v[:, 2]
    return packed, {"kind": "smallest3"}


def fraction_rows(w: np.ndarray, den: int = FRACTION_DEN) -> tuple[np.ndarray, dict]:
    """Rows of non-negative weights summing to 1 -> u16 numerators summing exactly to ``den``
    (largest-remainder rounding)."""
    w = np.clip(np.asarray(w, dtype=np.float64), 0, None)
    s = w.sum(1, keepdims=True)
    w = w / np.where(s > 0, s, 1.0)
    scaled = w * den
    q = np.floor(scaled).astype(np.int64)
    short = den - q.sum(1)
    order = np.argsort(-(scaled - q), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(w.shape[1])[None, :].repeat(len(w), 0), 1)
    q += rank < short[:, None]
    return q.astype(np.uint16), {"kind": "fraction", "denominator": den}


def channel_scaled(values: np.ndarray, channel: np.ndarray, n_channels: int, bits: int,
                   step: float | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Sparse basis entries (nnz, 3) of the given channels -> integers and a float32 scale per channel.
    ``step`` None: each channel uses its own range (scale = max |value| / qmax); a number: one absolute
    step for every channel (values that need more than ``bits`` are clipped, so pick bits to fit)."""
    qmax = (1 << (bits - 1)) - 1
    values = np.asarray(values, dtype=np.float64)
    peak = np.zeros(n_channels)
    if len(values):
        np.maximum.at(peak, channel, np.abs(values).max(1))
    scale = (peak / qmax if step is None else np.full(n_channels, float(step))).astype(np.float32)
    s = scale.astype(np.float64)[channel][:, None]
    q = np.clip(np.rint(values / np.where(s > 0, s, 1.0)), -qmax, qmax)
    return q.astype(np.int8 if bits <= 8 else np.int16), scale, {"kind": "channel_scaled", "scale": "scale"}


# ---------------------------------------------------------------------------------------------- readers
def _number(v, lo: float, hi: float, what: str) -> float:
    if type(v) not in (int, float) or not (lo <= v <= hi):
        raise LamFileError(f"{what} is {v!r}; expected a number in [{lo:g}, {hi:g}]")
    return float(v)


def _params(a: Array, key: str, n: int, lo: float, where: str) -> np.ndarray:
    v = a.enc.get(key)
    if not isinstance(v, list) or len(v) != n:
        raise LamFileError(f"{where}: encoding parameter {key!r} is not a list of {n} numbers")
    return np.array([_number(x, lo, MAX_PARAM, f"{where}: {key}") for x in v], dtype=np.float64)


def denominator(a: Array, where: str) -> int:
    return as_int(a.enc.get("denominator"), 1, 65535, f"{where}: denominator")


def decode(a: Array, arrays: dict[str, Array], where: str, channel: np.ndarray | None = None) -> np.ndarray:
    """Decode a stored array to float32 (or, for ``raw`` integers, to the integers themselves)."""
    where = f"{where}, array {a.name!r}"
    kind, d = a.kind, a.data
    if kind == "raw":
        return np.array(d)
    if kind == "linear":
        c = d.shape[-1] if d.ndim > 1 else 1
        lo = _params(a, "min", c, -MAX_PARAM, where)
        step = _params(a, "step", c, 0.0, where)
        flat = d.reshape(len(d), c) if d.ndim else d.reshape(-1, 1)
        return (flat.astype(np.float64) * step + lo).astype(np.float32).reshape(d.shape)
    if kind == "table":
        t = arrays.get(a.enc.get("table")) if isinstance(a.enc.get("table"), str) else None
        if t is None or t.data.dtype != np.float32 or t.data.ndim != 1 or t.kind != "raw" or not len(t.data):
            raise LamFileError(f"{where}: its table is missing or not a list of float32")
        if d.size and int(d.max()) >= len(t.data):
            raise LamFileError(f"{where}: an index is past the end of its {len(t.data)}-entry table")
        return t.data[d.astype(np.intp)]
    if kind == "smallest3":
        big = (d >> 30).astype(np.intp)
        v = np.stack([(d >> 20) & ROT_MAX, (d >> 10) & ROT_MAX, d & ROT_MAX], -1).astype(np.float64)
        c = (v / ROT_MAX * 2.0 - 1.0) * SQRT1_2
        s = c[..., 0] * c[..., 0] + c[..., 1] * c[..., 1] + c[..., 2] * c[..., 2]
        largest = np.sqrt(np.maximum(0.0, 1.0 - s))
        out = np.empty(d.shape + (4,), dtype=np.float64)
        slots = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])[big]
        np.put_along_axis(out, big[..., None], largest[..., None], -1)
        np.put_along_axis(out, slots, c, -1)
        return out.astype(np.float32)
    if kind == "fraction":
        den = denominator(a, where)
        return (d.astype(np.float64) / den).astype(np.float32)
    if kind == "channel_scaled":
        s = arrays.get(a.enc.get("scale")) if isinstance(a.enc.get("scale"), str) else None
        if s is None or s.data.dtype != np.float32 or s.data.ndim != 1 or s.kind != "raw" or channel is None:
            raise LamFileError(f"{where}: its per-channel scale is missing")
        return (d.astype(np.float64) * s.data.astype(np.float64)[channel][:, None]).astype(np.float32)
    raise LamFileError(f"{where}: unknown encoding {kind!r}")
