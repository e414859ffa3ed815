"""Standard 3D Gaussian Splatting PLY files (the layout of the INRIA reference code, read by most splat viewers).

One ``vertex`` element, float32 properties: ``x y z`` (centre), ``nx ny nz`` (zero), ``f_dc_0..2`` (degree-0
spherical-harmonic colour, ``(rgb - 0.5) / 0.28209479``), ``opacity`` (logit), ``scale_0..2`` (log of the
standard deviations), ``rot_0..3`` (quaternion **wxyz**, normalised by readers).

Reading accepts any numeric property types, ASCII or binary, extra properties (higher SH bands ``f_rest_*``
are ignored: colours are the degree-0 term, clamped to [0, 1]) and extra elements. The header is checked
(counts, property names, sizes against the file's length) before anything is allocated. Writing is atomic,
binary little-endian, degree 0 only; opacities are clamped to [1e-7, 1 - 1e-7] and scales to >= 1e-12 so that
their logit/log stay finite.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from lam_core.atomic import atomic_path
from lam_core.errors import LamError
from lam_core.gaussians import SH_C0, PosedGaussians

MAX_GAUSSIANS = 20_000_000
MAX_HEADER_BYTES = 1 << 16
REQUIRED = ("x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
            "rot_0", "rot_1", "rot_2", "rot_3")
WRITTEN = ("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
           "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3")
TYPE_SIZES = {"char": 1, "int8": 1, "uchar": 1, "uint8": 1, "short": 2, "int16": 2, "ushort": 2, "uint16": 2,
              "int": 4, "int32": 4, "uint": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8}
FORMATS = ("ascii", "binary_little_endian", "binary_big_endian")


class PlyFileError(LamError):
    """A PLY file is missing, corrupt, or not a 3D Gaussian Splatting PLY."""


# -------------------------------------------------------------------------------------------------- header

def _parse_header(path: Path, data: bytes) -> tuple[str, int, list[tuple[str, int, list[tuple[str, str | None]]]]]:
    """(format, header length in bytes, [(element name, count, [(property name, scalar type or None for a
    list)])])."""
    if not data.startswith(b"ply\n") and not data.startswith(b"ply\r\n"):
        raise PlyFileError(f"{path}: not a PLY file (it does not start with 'ply')")
    end = data.find(b"end_header")
    if end < 0:
        raise PlyFileError(f"{path}: PLY header has no 'end_header' within {MAX_HEADER_BYTES} bytes")
    nl = data.find(b"\n", end)
    if nl < 0:
        raise PlyFileError(f"{path}: PLY header is cut off after 'end_header'")
    try:
        lines = data[:end].decode("ascii").splitlines()[1:]
    except UnicodeDecodeError:
        raise PlyFileError(f"{path}: PLY header is not ASCII text") from None
    fmt = None
    elements: list[tuple[str, int, list[tuple[str, str | None]]]] = []
    for line in lines:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            if len(words) != 3 or words[1] not in FORMATS:
                raise PlyFileError(f"{path}: unsupported PLY format line {line.strip()!r}")
            fmt = words[1]
        elif words[0] == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise PlyFileError(f"{path}: bad PLY element line {line.strip()!r}")
            elements.append((words[1], int(words[2]), []))
        elif words[0] == "property":
            if not elements:
                raise PlyFileError(f"{path}: PLY property before any element")
            if len(words) == 3 and words[1] in TYPE_SIZES:
                elements[-1][2].append((words[2], words[1]))
            elif len(words) == 5 and words[1] == "list" and words[2] in TYPE_SIZES and words[3] in TYPE_SIZES:
                elements[-1][2].append((words[4], None))
            else:
                raise PlyFileError(f"{path}: bad PLY property line {line.strip()!r}")
        else:
            raise PlyFileError(f"{path}: unexpected PLY header line {line.strip()!r}")
    if fmt is None:
        raise PlyFileError(f"{path}: PLY header has no format line")
    return fmt, nl + 1, elements


def _check_layout(path: Path, size: int, fmt: str, header_len: int, elements) -> int:
    """Validate the vertex element against the file's size; returns its count."""
    names = [e[0] for e in elements]
    if "vertex" not in names:
        raise PlyFileError(f"{path}: PLY has no 'vertex' element (elements: {', '.join(names) or 'none'})")
    _, count, props = elements[names.index("vertex")]
    if count == 0:
        raise PlyFileError(f"{path}: PLY holds no Gaussians (vertex count 0)")
    if count > MAX_GAUSSIANS:
        raise PlyFileError(f"{path}: PLY claims {count:,} Gaussians, more than the {MAX_GAUSSIANS:,} supported")
    have = {name: kind for name, kind in props}
    missing = [p for p in REQUIRED if p not in have]
    if missing:
        raise PlyFileError(f"{path}: not a 3D Gaussian Splatting PLY: vertex properties {', '.join(missing)} "
                           "are missing")
    lists = [p for p in REQUIRED if have[p] is None]
    if lists:
        raise PlyFileError(f"{path}: vertex property {lists[0]} is a list, expected a number")
    body = size - header_len
    if fmt == "ascii":
        # every value takes at least one character and one separator
        if count * len(props) * 2 > body:
            raise PlyFileError(f"{path}: PLY claims {count:,} Gaussians but the file is too short for them")
        return count
    needed = 0
    for name, n, ps in elements:
        if any(kind is None for _, kind in ps):
            break  # list rows have no fixed size; plyfile checks the rest
        needed += n * sum(TYPE_SIZES[kind] for _, kind in ps)
        if name == "vertex" or needed > body:
            break
    if needed > body:
        raise PlyFileError(f"{path}: PLY is truncated: its header needs {needed:,} bytes of data, "
                           f"the file has {body:,}")
    return count


# --------------------------------------------------------------------------------------------------- read

def _required_columns(where, read, count: int) -> dict[str, np.ndarray]:
    """The REQUIRED vertex properties as float64 columns of ``count`` finite rows; ``read()`` gives the PlyData."""
    try:
        ply = read()
        v = ply["vertex"].data
        cols = {name: np.array(v[name], dtype=np.float64) for name in REQUIRED}
        del ply, v
    except PlyFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - plyfile raises many kinds of errors on corrupt data
        raise PlyFileError(f"{where}: corrupt PLY data ({type(exc).__name__}: {exc})") from None
    if any(len(c) != count for c in cols.values()):
        raise PlyFileError(f"{where}: PLY vertex data does not hold the {count:,} rows its header claims")
    for name, c in cols.items():
        bad = np.flatnonzero(~np.isfinite(c))
        if len(bad):
            raise PlyFileError(f"{where}: property {name} is NaN or infinite in row {bad[0]}")
    return cols


def read_ply_columns(data: bytes, where: str) -> dict[str, np.ndarray]:
    """The 3DGS vertex properties (x y z f_dc_0..2 opacity scale_0..2 rot_0..3) of PLY bytes as raw float64
    columns, after the same header, size and finiteness checks as :func:`read_ply` (for PLYs inside other
    files, whose columns mean something else: the official LAM zip's ``offset.ply``)."""
    fmt, header_len, elements = _parse_header(where, data[:MAX_HEADER_BYTES])
    count = _check_layout(where, len(data), fmt, header_len, elements)
    return _required_columns(where, lambda: PlyData.read(io.BytesIO(data)), count)


def read_ply(path: str | os.PathLike) -> PosedGaussians:
    """A 3DGS PLY -> one frame of :class:`~lam_core.gaussians.PosedGaussians` (float32; means (1, N, 3),
    quats (1, N, 4) wxyz unit, scales (N, 3), colours (N, 3) in [0, 1], opacities (N,))."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise PlyFileError(f"PLY file not found: {p}")
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(MAX_HEADER_BYTES)
    except OSError as exc:
        raise PlyFileError(f"{p}: cannot read ({exc.strerror or exc})") from None
    fmt, header_len, elements = _parse_header(p, head)
    count = _check_layout(p, size, fmt, header_len, elements)
    cols = _required_columns(p, lambda: PlyData.read(str(p), mmap="c"), count)  # binary data memory-mapped
    means = np.stack([cols["x"], cols["y"], cols["z"]], 1)
    colors = np.clip(0.5 + SH_C0 * np.stack([cols[f"f_dc_{i}"] for i in range(3)], 1), 0.0, 1.0)
    opacities = 1.0 / (1.0 + np.exp(-np.clip(cols["opacity"], -60.0, 60.0)))
    log_scales = np.stack([cols[f"scale_{i}"] for i in range(3)], 1)
    big = np.flatnonzero((log_scales > 20.0).any(1))
    if len(big):
        raise PlyFileError(f"{p}: scale in row {big[0]} is exp({log_scales[big[0]].max():.3g}), far too large")
    scales = np.exp(log_scales)
    quats = np.stack([cols[f"rot_{i}"] for i in range(4)], 1)
    norms = np.linalg.norm(quats, axis=1)
    zero = np.flatnonzero(norms < 1e-12)
    if len(zero):
        raise PlyFileError(f"{p}: rotation quaternion in row {zero[0]} is zero")
    quats = quats / norms[:, None]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return PosedGaussians(means=t(means)[None], quats=t(quats)[None], scales=t(scales), colors=t(colors),
                          opacities=t(opacities))


# -------------------------------------------------------------------------------------------------- write

def _array(x, name: str, shape: tuple) -> np.ndarray:
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    a = a.astype(np.float64)
    if a.shape != shape:
        raise ValueError(f"write_ply: {name} has shape {a.shape}, expected {shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"write_ply: {name} contains NaN or infinity")
    return a


def write_ply(path: str | os.PathLike, means, quats, scales, colors, opacities) -> None:
    """Write N Gaussians (activated values, wxyz quaternions; numpy or torch) as a standard 3DGS PLY."""
    means = np.asarray(means.detach().cpu() if hasattr(means, "detach") else means)
    n = means.shape[0] if means.ndim == 2 else -1
    means = _array(means, "means", (n, 3))
    quats = _array(quats, "quats", (n, 4))
    scales = _array(scales, "scales", (n, 3))
    colors = _array(colors, "colors", (n, 3))
    opacities = _array(opacities, "opacities", (n,))
    norms = np.linalg.norm(quats, axis=1, keepdims=True)
    if (norms < 1e-12).any():
        raise ValueError("write_ply: a rotation quaternion is zero")
    if (scales < 0).any():
        raise ValueError("write_ply: scales must be >= 0")
    o = np.clip(opacities, 1e-7, 1.0 - 1e-7)
    values = np.concatenate([
        means, np.zeros((n, 3)), (colors - 0.5) / SH_C0, np.log(o / (1.0 - o))[:, None],
        np.log(np.maximum(scales, 1e-12)), quats / norms,
    ], 1).astype("<f4")
    rows = np.empty(n, dtype=[(name, "<f4") for name in WRITTEN])
    for i, name in enumerate(WRITTEN):
        rows[name] = values[:, i]
    with atomic_path(path) as tmp:
        PlyData([PlyElement.describe(rows, "vertex")], text=False, byte_order="<").write(str(tmp))


def write_posed_ply(path: str | os.PathLike, posed: PosedGaussians, frame: int = 0) -> None:
    """Write one frame of posed Gaussians as a 3DGS PLY."""
    write_ply(path, posed.means[frame], posed.quats[frame], posed.scales, posed.colors, posed.opacities)
