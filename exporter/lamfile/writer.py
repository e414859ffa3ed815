"""Writing ``.lam`` files: a :class:`~lam_core.GaussianAvatar` (rig, points, Gaussians) -> bytes.

:func:`encode_lam` checks the avatar against the format's caps before building anything, quantises it
(:class:`Quantisation`; ``lossless=True`` stores every value as float32 instead) and frames it;
:func:`write_lam` writes the result atomically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from lam_core.atomic import write_bytes_atomic
from lam_core.gaussians import GaussianAvatar
from lam_core.subdivision import kept_edges, subdivide, subdivide_at

from . import quantise as qz
from . import spec
from .arrays import lay_out
from .container import pack
from .photo_record import PhotoRecord, photo_header
from .spec import LamFileError

PRODUCER = "lam-avatar 0.1.0 (exporter.lamfile)"
UNITS = {"length": "metre", "axes": "y up, z forward, x to the subject's left", "quaternion": "wxyz",
         "color": "RGB 0..1", "opacity": "activated 0..1", "scale": "activated standard deviation, metres"}
MAX_THUMBNAIL_BYTES = 16 << 20
_IMAGE_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",), "image/webp": (b"RIFF",)}


@dataclass(frozen=True)
class Quantisation:
    """Bits per attribute (docs/lam-format.md, "Quantisation", says how these defaults were measured)."""

    offset_bits: int = 16      # Gaussian offsets, linear over their range per axis
    vertex_bits: int = 16      # base mesh rest vertices, linear over the bounding box
    color_bits: int = 8        # RGB, linear per channel
    opacity_bits: int = 8
    scale_bits: int = 8        # index into a table of 2**bits scales ...
    scale_table: str = "lloyd"  # ... the Lloyd-Max levels of log scale, or "log_uniform" (evenly spaced)
    rotation: str = "smallest3"  # 32-bit smallest-three, or "f32" (four floats)
    basis_bits: int = 8        # expression bases and pose correctives: i8 or i16 per entry ...
    basis_step: float | None = None  # ... scaled per channel to its range (None) or by one absolute step
    skin_k: int = 8            # LBS weights kept per base vertex (the largest; renormalised)

    def __post_init__(self) -> None:
        for key, lo, hi in (("offset_bits", 8, 16), ("vertex_bits", 8, 16), ("color_bits", 4, 16),
                            ("opacity_bits", 4, 16), ("scale_bits", 4, 16), ("basis_bits", 4, 16),
                            ("skin_k", 1, spec.MAX_SKIN_K)):
            v = getattr(self, key)
            if type(v) is not int or not lo <= v <= hi:
                raise ValueError(f"quantisation: {key} = {v!r}, expected an integer in {lo}..{hi}")
        if self.scale_table not in ("log_uniform", "lloyd") or self.rotation not in ("smallest3", "f32"):
            raise ValueError(f"quantisation: scale_table {self.scale_table!r} / rotation {self.rotation!r} unknown")
        if self.basis_step is not None and not (np.isfinite(self.basis_step) and self.basis_step > 0):
            raise ValueError(f"quantisation: basis_step = {self.basis_step!r}, expected a positive number")


def _fail(msg: str):
    raise LamFileError(f"cannot write a .lam file: {msg}")


def _check_names(names, what: str, cap: int) -> list[str]:
    names = list(names)
    if len(names) > cap:
        _fail(f"{len(names)} {what}; the limit is {cap}")
    for n in names:
        if not isinstance(n, str) or not 1 <= len(n) <= spec.MAX_NAME_CHARS:
            _fail(f"{what}: {n!r} is not a name of 1..{spec.MAX_NAME_CHARS} characters")
    if len(set(names)) != len(names):
        _fail(f"{what} repeat")
    return names


def _finite(a: np.ndarray, what: str) -> None:
    if not np.isfinite(a).all():
        _fail(f"{what} contains NaN or infinity")


def _check(avatar: GaussianAvatar) -> None:
    """Every count against the caps and every array against the others, before anything is built."""
    rig, pts, g = avatar.rig, avatar.points, avatar.gaussians
    v, f, j, k, n = rig.n_vertices, len(rig.faces), rig.n_joints, rig.n_expr, avatar.n
    for count, cap, what in ((n, spec.MAX_GAUSSIANS, "Gaussians"), (v, spec.MAX_VERTICES, "base vertices"),
                             (f, spec.MAX_FACES, "faces"), (j, spec.MAX_JOINTS, "joints")):
        if not 1 <= count <= cap:
            _fail(f"{count} {what}; the format holds 1..{cap}")
    _check_names(rig.joint_names, "joint names", spec.MAX_JOINTS)
    _check_names(rig.expr_names, "expression channels", spec.MAX_CHANNELS)
    if len(rig.joint_names) != j or len(rig.expr_names) != k:
        _fail("joint or channel names do not match the rig's counts")
    if rig.parents[0] != -1 or any(not 0 <= p < i for i, p in enumerate(rig.parents) if i):
        _fail(f"parents {rig.parents} are not a tree in topological order")
    shapes = {"vertices": (v, 3), "faces": (f, 3), "joints": (j, 3), "joint_exprdirs": (j, 3, k),
              "lbs_weights": (v, j), "exprdirs": (v, 3, k), "posedirs": (v, 3, (j - 1) * 9)}
    for key, shape in shapes.items():
        a = getattr(rig, key)
        if a.shape != shape:
            _fail(f"rig {key} has shape {a.shape}, expected {shape}")
        if key != "faces":
            _finite(a, f"rig {key}")
    if rig.faces.min() < 0 or rig.faces.max() >= v:
        _fail("faces index vertices outside the mesh")
    if (rig.lbs_weights < 0).any():
        _fail("LBS weights are negative")
    interp = pts.interp
    if interp.nnz and (interp.data < 0).any():
        _fail("the points' interpolation weights are negative")
    if np.diff(interp.indptr).max(initial=0) > spec.MAX_BIND_K:
        _fail(f"a point combines more than {spec.MAX_BIND_K} base vertices")
    if (g.scales <= 0).any():
        _fail("Gaussian scales must be positive")
    if (np.linalg.norm(g.rotations, axis=1) < 1e-6).any():
        _fail("a Gaussian rotation is a zero quaternion")
    lm = rig.landmarks
    if lm is not None:
        if len(lm.ids) > spec.MAX_LANDMARKS:
            _fail(f"{len(lm.ids)} landmarks; the limit is {spec.MAX_LANDMARKS}")
        if len(lm.ids) and (lm.faces.min() < 0 or lm.faces.max() >= f or lm.ids.min() < 0):
            _fail("the landmark embedding names triangles outside the mesh")
        _finite(lm.bary, "landmark barycentric coordinates")


def _index_dtype(bound: int):
    return np.uint16 if bound <= 1 << 16 else np.uint32


def _rows_to_padded(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """A CSR matrix -> (rows, k) column indices and values, rows padded with index 0 and value 0."""
    m = sp.csr_matrix(m)
    m.sort_indices()
    counts = np.diff(m.indptr)
    k = max(int(counts.max(initial=0)), 1)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    slot = np.arange(m.nnz) - m.indptr[rows]
    idx = np.zeros((m.shape[0], k), dtype=np.int64)
    val = np.zeros((m.shape[0], k), dtype=np.float64)
    idx[rows, slot] = m.indices
    val[rows, slot] = m.data
    return idx, val


def _top_k(w: np.ndarray, k: int) -> sp.csr_matrix:
    """Keep each row's ``k`` largest entries (sparse)."""
    k = min(k, w.shape[1])
    keep = np.argsort(-w, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(w, keep, 1)
    rows = np.repeat(np.arange(len(w)), k)
    m = sp.csr_matrix((vals.ravel(), (rows, keep.ravel())), shape=w.shape)
    m.eliminate_zeros()
    return m


def _sparse_basis(dirs: np.ndarray, q: Quantisation | None) -> dict:
    """A dense basis (V, 3, C) -> the EXPR/POSE arrays: per channel (CSC) the vertices it moves."""
    v, _, c = dirs.shape
    mask = (dirs != 0).any(1).T  # (C, V)
    ch, vert = np.nonzero(mask)
    values = dirs[vert, :, ch].astype(np.float64)
    arrays = {}
    if q is None:
        stored, enc = values.astype(np.float32), qz.enc_raw()
    else:
        stored, scale, enc = qz.channel_scaled(values, ch, c, q.basis_bits, q.basis_step)
        keep = (stored != 0).any(1)
        stored, ch, vert = stored[keep], ch[keep], vert[keep]
    ptr = np.zeros(c + 1, dtype=np.uint32)
    np.cumsum(np.bincount(ch, minlength=c), out=ptr[1:])
    arrays["ptr"] = (ptr, qz.enc_raw())
    arrays["index"] = (vert.astype(_index_dtype(v)), qz.enc_raw())
    arrays["delta"] = (stored, enc)
    if q is not None:
        arrays["scale"] = (scale, qz.enc_raw())
    return arrays


def _point_faces(avatar: GaussianAvatar, identity: bool) -> dict:
    pts, rig = avatar.points, avatar.rig
    if pts.faces is None:
        return {"kind": "none"}
    faces = np.asarray(pts.faces)
    if identity and faces.shape == rig.faces.shape and np.array_equal(faces, rig.faces):
        return {"kind": "base"}
    for levels in range(1, spec.MAX_SUBDIVISION_LEVELS + 1):
        if faces.shape[0] != len(rig.faces) * 4 ** levels:
            continue
        sub = subdivide(rig.faces, rig.n_vertices, levels)
        if np.array_equal(sub.faces, faces) and sub.interp.shape == pts.interp.shape \
                and abs(sub.interp - pts.interp).max() == 0:
            return {"kind": "subdivision", "levels": levels}
    kept = None if len(rig.faces) > 4 * pts.n_points + 64 else kept_edges(rig.faces, rig.n_vertices, pts.interp)
    if kept is not None and np.array_equal(subdivide_at(rig.faces, rig.n_vertices, kept).faces, faces):
        return {"kind": "adaptive"}   # subdivided where the points say: no faces to store
    return {"kind": "chunk"}


def _rig_kind(expr_names) -> str:
    if expr_names and all(re.fullmatch(r"expr_\d+", n) for n in expr_names):
        return "flame"
    if any(n.startswith("lmk_") for n in expr_names):
        return "open_head"
    return "custom"


def encode_lam(avatar: GaussianAvatar, *, lossless: bool = False, quantisation: Quantisation | None = None,
               compress: bool = True, thumbnail: bytes | None = None, thumbnail_mime: str | None = None,
               meta: dict | None = None, rig_kind: str | None = None, producer: str = PRODUCER,
               photo: PhotoRecord | None = None) -> bytes:
    """The .lam bytes of ``avatar``. ``lossless`` stores float32 values as they are (for tests);
    otherwise ``quantisation`` (default :class:`Quantisation`) applies. ``meta`` is free JSON. ``photo``:
    the camera and parameters of the photo the avatar was made from (recorded in the header)."""
    _check(avatar)
    q = None if lossless else (quantisation or Quantisation())
    rig, pts, g = avatar.rig, avatar.points, avatar.gaussians
    n, v, j = avatar.n, rig.n_vertices, rig.n_joints
    raw = qz.enc_raw()
    chunks: dict[str, dict] = {}

    # canonical Gaussians
    gaus: dict = {}
    if q is None:
        for key, attr in (("offset", "offsets"), ("color", "colors"), ("opacity", "opacities"),
                          ("scale", "scales"), ("rotation", "rotations")):
            gaus[key] = (np.asarray(getattr(g, attr), dtype=np.float32), raw)
    else:
        gaus["offset"] = qz.linear(g.offsets, q.offset_bits)
        gaus["color"] = qz.linear(g.colors, q.color_bits)
        gaus["opacity"] = qz.linear(g.opacities, q.opacity_bits)
        sq, table, enc = qz.log_table(g.scales, q.scale_bits, q.scale_table)
        gaus["scale"] = (sq, enc)
        gaus["scale_table"] = (table, raw)
        gaus["rotation"] = qz.smallest3(g.rotations) if q.rotation == "smallest3" else \
            (np.asarray(g.rotations, dtype=np.float32), raw)
    chunks[spec.GAUS] = gaus

    # binding of the Gaussians to the base mesh
    interp = sp.csr_matrix(pts.interp)
    interp.eliminate_zeros()
    identity = n == v and interp.nnz == n and np.array_equal(interp.indices, np.arange(n)) \
        and np.array_equal(interp.indptr, np.arange(n + 1)) and bool((interp.data == 1).all())
    bind_k = 1
    if not identity:
        idx, w = _rows_to_padded(interp)
        bind_k = idx.shape[1]
        chunks[spec.BIND] = {"index": (idx.astype(_index_dtype(v)), raw),
                             "weight": (w.astype(np.float32), raw) if q is None else qz.fraction_rows(w)}
    point_faces = _point_faces(avatar, identity)

    # base mesh, joints, skinning, bases
    chunks[spec.MESH] = {
        "vertices": (rig.vertices.astype(np.float32), raw) if q is None else qz.linear(rig.vertices, q.vertex_bits),
        "faces": (rig.faces.astype(_index_dtype(v)), raw),
    }
    chunks[spec.JOIN] = {"positions": (rig.joints.astype(np.float32), raw),
                         "exprdirs": (rig.joint_exprdirs.astype(np.float32), raw)}
    w = np.asarray(rig.lbs_weights, dtype=np.float64)
    if q is None:
        skin = sp.csr_matrix(w)
        if np.diff(skin.indptr).max(initial=0) > spec.MAX_SKIN_K:
            _fail(f"lossless mode keeps every LBS weight; a vertex has more than {spec.MAX_SKIN_K}")
    else:
        skin = _top_k(w, q.skin_k)
    sidx, sw = _rows_to_padded(skin)
    chunks[spec.SKIN] = {"index": (sidx.astype(np.uint8 if j <= 256 else np.uint16), raw),
                         "weight": (sw.astype(np.float32), raw) if q is None else qz.fraction_rows(sw)}
    chunks[spec.EXPR] = _sparse_basis(rig.exprdirs, q)
    chunks[spec.POSE] = _sparse_basis(rig.posedirs, q)

    # ancillary
    lm = rig.landmarks
    if lm is not None and len(lm.ids):
        chunks[spec.LMKS] = {"ids": (np.asarray(lm.ids).astype(_index_dtype(int(lm.ids.max()) + 1)), raw),
                             "faces": (np.asarray(lm.faces).astype(_index_dtype(len(rig.faces))), raw),
                             "bary": (np.asarray(lm.bary, dtype=np.float32), raw)}
    if point_faces["kind"] == "chunk":
        pf = np.asarray(pts.faces)
        if pf.ndim != 2 or pf.shape[1] != 3 or len(pf) > spec.MAX_FACES or (len(pf) and (pf.min() < 0 or pf.max() >= n)):
            _fail("the points' own faces are not triangles of the points")
        chunks[spec.PFAC] = {"faces": (pf.astype(_index_dtype(n)), raw)}
    header_thumb = None
    if thumbnail is not None:
        if thumbnail_mime not in spec.THUMBNAIL_MIMES:
            _fail(f"thumbnail type {thumbnail_mime!r} is not one of {', '.join(spec.THUMBNAIL_MIMES)}")
        if not 0 < len(thumbnail) <= MAX_THUMBNAIL_BYTES or not thumbnail.startswith(_IMAGE_MAGIC[thumbnail_mime]):
            _fail(f"the thumbnail is not a {thumbnail_mime} image of at most {MAX_THUMBNAIL_BYTES} bytes")
        chunks[spec.THMB] = {"image": (np.frombuffer(thumbnail, dtype=np.uint8), raw)}
        header_thumb = {"mime": thumbnail_mime}

    payloads, tables = [], {}
    for tag, arrays in chunks.items():
        payload, table = lay_out(arrays)
        tables[tag] = table
        payloads.append((tag, payload, compress and tag != spec.THMB))
    header = {
        "producer": producer,
        "encoding": "lossless" if q is None else "quantised",
        "units": UNITS,
        "rig": {
            "kind": rig_kind or _rig_kind(rig.expr_names),
            "source": rig.source,
            "vertices": v,
            "faces": len(rig.faces),
            "joint_names": list(rig.joint_names),
            "parents": [int(p) for p in rig.parents],
            "expr_names": list(rig.expr_names),
            "pose_correctives": (j - 1) * 9,
            "landmarks": 0 if lm is None else len(lm.ids),
            "skin_k": int(sidx.shape[1]),
        },
        "gaussians": {"count": n, "binding": "identity" if identity else "sparse", "bind_k": bind_k,
                      "point_faces": point_faces},
        "meta": dict(meta or {}),
        "arrays": tables,
    }
    if header_thumb:
        header["thumbnail"] = header_thumb
    if photo is not None:
        if photo.params.pose.shape[1] != j:
            _fail(f"photo: the pose has {photo.params.pose.shape[1]} joints, the rig {j}")
        header["photo"] = photo_header(photo.camera, photo.params, rig.expr_names)
    try:
        return pack(header, payloads)
    except (TypeError, ValueError) as exc:  # meta that is not JSON, names that are not valid Unicode
        _fail(f"the metadata or a name is not JSON-encodable UTF-8 ({exc})")


def write_lam(path: str | os.PathLike, avatar: GaussianAvatar, **options) -> int:
    """Write ``avatar`` to ``path`` atomically (options as :func:`encode_lam`); returns the file size."""
    data = encode_lam(avatar, **options)
    write_bytes_atomic(path, data)
    return len(data)


__all__ = ["PRODUCER", "Quantisation", "encode_lam", "write_lam"]
