"""Reading ``.lam`` files back into a :class:`~lam_core.GaussianAvatar`.

Order of checks (docs/lam-format.md, "Reading safely"): the framing (every length against the bytes present,
both checksums), then the header's counts against the caps and each chunk's array table against those
counts and the chunk's declared raw length, then the memory the rig will take; only then is anything
inflated or allocated. Decoded values are checked too (indices in range, weights that sum to one, positive
scales), so whatever a reader returns is safe to animate.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from math import prod

import numpy as np
import scipy.sparse as sp

from lam_core.gaussians import GaussianAvatar, Gaussians
from lam_core.head_model import LandmarkEmbedding
from lam_core.rig import Rig, RigPoints
from lam_core.subdivision import kept_edges, subdivide, subdivide_at

from . import spec
from .arrays import Array, as_int, check_table, read_arrays
from .container import Chunk, Container, parse
from .photo_record import PhotoRecord, parse_photo
from .quantise import decode, denominator
from .spec import LamFileError

DEFAULT_MAX_DENSE_BYTES = 1 << 30  # lam_core.Rig holds its bases dense; refuse rigs that would take more


@dataclass(frozen=True)
class ChunkInfo:
    tag: str
    offset: int
    stored_len: int
    raw_len: int
    compressed: bool
    known: bool


@dataclass(frozen=True)
class Counts:
    gaussians: int
    vertices: int
    faces: int
    joints: int
    expr: int
    pose_correctives: int
    landmarks: int
    bind_k: int
    skin_k: int
    binding: str
    point_faces: dict


@dataclass(frozen=True, eq=False)
class LamFile:
    """A decoded .lam file: the avatar, the header as read, the chunks, the thumbnail and free metadata."""

    avatar: GaussianAvatar
    header: dict
    version: tuple[int, int]
    chunks: tuple[ChunkInfo, ...]
    file_size: int
    thumbnail: bytes | None = None
    thumbnail_mime: str | None = None
    meta: dict = field(default_factory=dict)
    photo: PhotoRecord | None = None   # the photo's camera and parameters, when the file records them


def _int(v, lo: int, hi: int, what: str) -> int:
    return as_int(v, lo, hi, f"header: {what}")


def _obj(v, what: str) -> dict:
    if not isinstance(v, dict):
        raise LamFileError(f"header: {what} is missing or not an object")
    return v


def _names(v, lo: int, hi: int, what: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not lo <= len(v) <= hi:
        raise LamFileError(f"header: {what} is not a list of {lo}..{hi} names")
    for s in v:
        if not isinstance(s, str) or not 1 <= len(s) <= spec.MAX_NAME_CHARS:
            raise LamFileError(f"header: {what} holds {s!r}, not a name of 1..{spec.MAX_NAME_CHARS} characters")
    if len(set(v)) != len(v):
        raise LamFileError(f"header: {what} repeat")
    return tuple(v)


def check_header(header: dict) -> tuple[Counts, tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """The header's counts and names, each checked against the caps."""
    if header.get("encoding") not in spec.ENCODINGS:
        raise LamFileError(f"header: encoding {header.get('encoding')!r} is not one of {spec.ENCODINGS}")
    rig = _obj(header.get("rig"), "rig")
    gs = _obj(header.get("gaussians"), "gaussians")
    joint_names = _names(rig.get("joint_names"), 1, spec.MAX_JOINTS, "rig.joint_names")
    j = len(joint_names)
    parents = rig.get("parents")
    if not isinstance(parents, list) or len(parents) != j:
        raise LamFileError(f"header: rig.parents is not a list of {j} integers")
    parents = [_int(p, -1 if i == 0 else 0, max(i - 1, -1), f"rig.parents[{i}]") for i, p in enumerate(parents)]
    expr_names = _names(rig.get("expr_names"), 0, spec.MAX_CHANNELS, "rig.expr_names")
    v = _int(rig.get("vertices"), 1, spec.MAX_VERTICES, "rig.vertices")
    binding = gs.get("binding")
    if binding not in ("identity", "sparse"):
        raise LamFileError(f"header: gaussians.binding is {binding!r}; expected 'identity' or 'sparse'")
    n = _int(gs.get("count"), 1, spec.MAX_GAUSSIANS, "gaussians.count")
    if binding == "identity" and n != v:
        raise LamFileError(f"header: identity binding of {n} Gaussians to {v} vertices")
    pf = _obj(gs.get("point_faces"), "gaussians.point_faces")
    if pf.get("kind") not in ("none", "base", "subdivision", "adaptive", "chunk"):
        raise LamFileError(f"header: gaussians.point_faces kind {pf.get('kind')!r} is unknown")
    f = _int(rig.get("faces"), 1, spec.MAX_FACES, "rig.faces")
    if pf["kind"] == "subdivision":
        levels = _int(pf.get("levels"), 1, spec.MAX_SUBDIVISION_LEVELS, "gaussians.point_faces.levels")
        if f * 4 ** levels > 4 * n + 64:
            raise LamFileError(f"header: {f} faces subdivided {levels} times do not fit {n} points")
    if pf["kind"] == "adaptive" and not (binding == "sparse" and v <= n <= v + 3 * f and f <= 4 * n + 64):
        raise LamFileError(f"header: adaptive point faces need a sparse binding of {v} vertices and at most "
                           f"{3 * f} edge midpoints, and at most 4 faces a point; the file has {n} points and "
                           f"{f} faces")
    if pf["kind"] == "base" and binding != "identity":
        raise LamFileError("header: points share the base mesh's faces only with an identity binding")
    counts = Counts(
        gaussians=n, vertices=v, faces=f, joints=j, expr=len(expr_names),
        pose_correctives=_int(rig.get("pose_correctives"), (j - 1) * 9, (j - 1) * 9, "rig.pose_correctives"),
        landmarks=_int(rig.get("landmarks", 0), 0, spec.MAX_LANDMARKS, "rig.landmarks"),
        bind_k=_int(gs.get("bind_k"), 1, spec.MAX_BIND_K, "gaussians.bind_k"),
        skin_k=_int(rig.get("skin_k"), 1, min(spec.MAX_SKIN_K, j), "rig.skin_k"),
        binding=binding, point_faces=pf,
    )
    parse_photo(header, j, expr_names)  # a photo record, when there is one, is checked with the header
    return counts, joint_names, tuple(parents), expr_names


def _expected_shapes(tag: str, c: Counts, items: dict) -> dict[str, tuple | None]:
    """Shapes the arrays of a known chunk must have (None: checked separately)."""
    n, v, k = c.gaussians, c.vertices, c.expr
    if tag == spec.GAUS:
        rot = (n,) if items["rotation"][0] == "u32" else (n, 4)
        return {"offset": (n, 3), "color": (n, 3), "opacity": (n,), "scale": (n, 3), "rotation": rot,
                "scale_table": None}
    if tag == spec.BIND:
        return {"index": (n, c.bind_k), "weight": (n, c.bind_k)}
    if tag == spec.MESH:
        return {"vertices": (v, 3), "faces": (c.faces, 3)}
    if tag == spec.JOIN:
        return {"positions": (c.joints, 3), "exprdirs": (c.joints, 3, k)}
    if tag == spec.SKIN:
        return {"index": (v, c.skin_k), "weight": (v, c.skin_k)}
    if tag in (spec.EXPR, spec.POSE):
        ch = k if tag == spec.EXPR else c.pose_correctives
        nnz = items["index"][1]
        nnz = nnz[0] if len(nnz) == 1 else -1
        if not 0 <= nnz <= v * ch:
            raise LamFileError(f"chunk {tag}: {nnz} basis entries for {v} vertices x {ch} channels")
        return {"ptr": (ch + 1,), "index": (nnz,), "delta": (nnz, 3), "scale": (ch,)}
    if tag == spec.LMKS:
        return {"ids": (c.landmarks,), "faces": (c.landmarks,), "bary": (c.landmarks, 3)}
    if tag == spec.THMB:
        return {"image": None}
    if tag == spec.PFAC:
        return {"faces": None}
    return {}


def _check_shapes(tag: str, c: Counts, items: dict) -> None:
    for name, shape in _expected_shapes(tag, c, items).items():
        if name not in items:
            continue
        got = items[name][1]
        if shape is None:
            ok = {"scale_table": lambda: len(got) == 1 and 1 <= got[0] <= 65536,
                  "image": lambda: len(got) == 1,
                  "faces": lambda: len(got) == 2 and got[1] == 3 and got[0] <= spec.MAX_FACES}[name]()
        else:
            ok = got == shape
        if not ok:
            raise LamFileError(f"chunk {tag}, array {name!r}: shape {list(got)} does not match the header"
                               + ("" if shape is None else f" (expected {list(shape)})"))


def _plan(container: Container, max_dense_bytes: int):
    """Everything that can be checked before inflating a byte."""
    header = container.header
    counts, joint_names, parents, expr_names = check_header(header)
    tables = _obj(header.get("arrays"), "arrays")
    by_tag = {ch.tag: ch for ch in container.chunks if ch.readable and ch.tag in spec.KNOWN}
    for ch in container.chunks:
        if spec.is_critical(ch.tag) and ch.tag not in spec.KNOWN:
            raise LamFileError(f"chunk {ch.tag!r} is critical and unknown to this reader (the file needs a newer one)")
    need = list(spec.REQUIRED) + ([spec.BIND] if counts.binding == "sparse" else [])
    need += [spec.LMKS] if counts.landmarks else []
    need += [spec.PFAC] if counts.point_faces["kind"] == "chunk" else []
    for tag in need:
        if tag not in by_tag:
            raise LamFileError(f"chunk {tag} is missing")
    if counts.binding == "identity" and spec.BIND in by_tag:
        raise LamFileError("chunk BIND is present although the binding is the identity")
    for ch in by_tag.values():
        if not (ch.tag == spec.LMKS and not counts.landmarks):
            items = check_table(ch.tag, tables.get(ch.tag), ch.raw_len)
            _check_shapes(ch.tag, counts, {it[0]: it[1:] for it in items})
    dense = 4 * (counts.vertices * 3 * (counts.expr + counts.pose_correctives)
                 + (counts.vertices + counts.gaussians) * counts.joints)
    if dense > max_dense_bytes:
        raise LamFileError(f"this rig needs {dense} bytes of dense bases in memory; the limit is {max_dense_bytes}")
    return counts, joint_names, parents, expr_names, tables, by_tag


def _index(a: Array, bound: int, where: str) -> np.ndarray:
    d = a.data
    if d.size and int(d.max()) >= bound:
        raise LamFileError(f"{where}, array {a.name!r}: an index is {int(d.max())}, past {bound - 1}")
    return d.astype(np.int64)


def _weights(a: Array, arrays: dict, where: str) -> np.ndarray:
    w = decode(a, arrays, where)
    if a.kind == "fraction":
        ok = (a.data.astype(np.int64).sum(1) == denominator(a, where)).all()
    else:
        ok = (w >= 0).all() and (np.abs(w.astype(np.float64).sum(1) - 1.0) <= 1e-3).all()
    if not ok:
        raise LamFileError(f"{where}: weights that are negative or do not sum to 1")
    return w


def _basis(arrays: dict, n_ch: int, v: int, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC arrays -> (channel, vertex, delta (nnz, 3)) after checking their structure."""
    ptr = arrays["ptr"].data.astype(np.int64)
    index = _index(arrays["index"], v, where)
    nnz = len(index)
    if ptr[0] != 0 or ptr[-1] != nnz or (np.diff(ptr) < 0).any():
        raise LamFileError(f"{where}: channel pointers are not 0..{nnz} in order")
    channel = np.repeat(np.arange(n_ch), np.diff(ptr))
    ok = np.diff(index) > 0
    starts = ptr[1:-1]
    starts = starts[(starts > 0) & (starts < nnz)]
    ok[starts - 1] = True
    if not ok.all():
        raise LamFileError(f"{where}: vertex indices of a channel are not strictly increasing")
    delta = arrays["delta"]
    if delta.kind == "channel_scaled" and ("scale" not in arrays or arrays["scale"].data.shape != (n_ch,)):
        raise LamFileError(f"{where}: the per-channel scale is missing")
    return channel, index, decode(delta, arrays, where, channel=channel)


def _dense(channel: np.ndarray, index: np.ndarray, delta: np.ndarray, v: int, n_ch: int) -> np.ndarray:
    out = np.zeros((v, 3, n_ch), dtype=np.float32)
    out[index, :, channel] = delta
    return out


def decode_lam(data: bytes | memoryview, *, max_dense_bytes: int = DEFAULT_MAX_DENSE_BYTES,
               source: str = "") -> LamFile:
    """Decode the bytes of a .lam file (see :func:`read_lam`)."""
    try:
        return _decode(data, max_dense_bytes)
    except LamFileError as exc:
        if source:
            raise LamFileError(f"{source}: {exc}") from None
        raise


def _decode(data: bytes | memoryview, max_dense_bytes: int) -> LamFile:
    container = parse(data)
    c, joint_names, parents, expr_names, tables, by_tag = _plan(container, max_dense_bytes)
    arrays = {tag: read_arrays(ch, tables[tag]) for tag, ch in by_tag.items()
              if not (tag == spec.LMKS and not c.landmarks)}

    g = arrays[spec.GAUS]
    where = "chunk GAUS"
    scales = decode(g["scale"], g, where)
    rotations = decode(g["rotation"], g, where)
    if not (scales > 0).all():
        raise LamFileError(f"{where}: a Gaussian scale is not positive")
    if not (np.abs(rotations).max(1) > 0).all():
        raise LamFileError(f"{where}: a Gaussian rotation is a zero quaternion")
    gaussians = Gaussians(offsets=decode(g["offset"], g, where), colors=decode(g["color"], g, where),
                          opacities=decode(g["opacity"], g, where), scales=scales, rotations=rotations)

    m = arrays[spec.MESH]
    vertices = decode(m["vertices"], m, "chunk MESH")
    faces = _index(m["faces"], c.vertices, "chunk MESH")
    jn = arrays[spec.JOIN]
    s = arrays[spec.SKIN]
    sidx = _index(s["index"], c.joints, "chunk SKIN")
    sw = _weights(s["weight"], s, "chunk SKIN")
    lbs = sp.csr_matrix((sw.ravel().astype(np.float64), (np.repeat(np.arange(c.vertices), c.skin_k), sidx.ravel())),
                        shape=(c.vertices, c.joints)).toarray().astype(np.float32)
    ech, eidx, edelta = _basis(arrays[spec.EXPR], c.expr, c.vertices, "chunk EXPR")
    pch, pidx, pdelta = _basis(arrays[spec.POSE], c.pose_correctives, c.vertices, "chunk POSE")
    landmarks = None
    if c.landmarks:
        lm = arrays[spec.LMKS]
        landmarks = LandmarkEmbedding(ids=lm["ids"].data.astype(np.int64),
                                      faces=_index(lm["faces"], c.faces, "chunk lmks"),
                                      bary=np.array(lm["bary"].data))
    rig_h = container.header["rig"]
    rig = Rig(
        vertices=vertices, faces=faces, joints=np.array(jn["positions"].data),
        joint_exprdirs=np.array(jn["exprdirs"].data), parents=parents, joint_names=joint_names,
        lbs_weights=lbs, exprdirs=_dense(ech, eidx, edelta, c.vertices, c.expr),
        posedirs=_dense(pch, pidx, pdelta, c.vertices, c.pose_correctives), expr_names=expr_names,
        landmarks=landmarks, source=rig_h.get("source") if isinstance(rig_h.get("source"), str) else "",
    )

    if c.binding == "identity":
        interp = sp.identity(c.vertices, format="csr", dtype=np.float64)
    else:
        b = arrays[spec.BIND]
        bidx = _index(b["index"], c.vertices, "chunk BIND")
        bw = _weights(b["weight"], b, "chunk BIND")
        interp = sp.csr_matrix((bw.ravel().astype(np.float64), (np.repeat(np.arange(c.gaussians), c.bind_k),
                                                                 bidx.ravel())), shape=(c.gaussians, c.vertices))
        interp.eliminate_zeros()
    kind = c.point_faces["kind"]
    point_faces = None
    if kind == "base":
        point_faces = faces
    elif kind == "subdivision":
        sub = subdivide(faces, c.vertices, c.point_faces["levels"])
        if sub.n_fine != c.gaussians:
            raise LamFileError(f"header: the subdivided mesh has {sub.n_fine} points, not {c.gaussians}")
        point_faces = sub.faces
    elif kind == "adaptive":
        kept = kept_edges(faces, c.vertices, interp)
        if kept is None:
            raise LamFileError("chunk BIND: the points are not the base vertices then edge midpoints in edge order, "
                               "as point faces 'adaptive' claims")
        point_faces = subdivide_at(faces, c.vertices, kept).faces
    elif kind == "chunk":
        point_faces = _index(arrays[spec.PFAC]["faces"], c.gaussians, "chunk pfac")
    avatar = GaussianAvatar(RigPoints(rig, interp, point_faces), gaussians)

    thumb = mime = None
    if spec.THMB in arrays:
        thumb = arrays[spec.THMB]["image"].data.tobytes()
        t = container.header.get("thumbnail")
        mime = t.get("mime") if isinstance(t, dict) and t.get("mime") in spec.THUMBNAIL_MIMES else None
    meta = container.header.get("meta")
    photo = parse_photo(container.header, len(joint_names), expr_names)
    return LamFile(avatar=avatar, header=container.header, version=container.version, chunks=chunk_infos(container),
                   file_size=container.file_size, thumbnail=thumb, thumbnail_mime=mime,
                   meta=meta if isinstance(meta, dict) else {}, photo=photo)


def chunk_infos(container: Container) -> tuple[ChunkInfo, ...]:
    return tuple(ChunkInfo(ch.tag, ch.offset, ch.stored_len, ch.raw_len, ch.compressed, ch.tag in spec.KNOWN)
                 for ch in container.chunks)


def _load(path: str | os.PathLike) -> bytes:
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise LamFileError(f"{path}: is a directory, not a .lam file")
        if not stat.S_ISREG(st.st_mode):
            raise LamFileError(f"{path}: is not a regular file")
        if st.st_size > spec.MAX_FILE_BYTES:
            raise LamFileError(f"{path}: {st.st_size} bytes; the limit for a .lam file is {spec.MAX_FILE_BYTES}")
        with open(path, "rb") as f:
            data = f.read(st.st_size + 1)
        if len(data) > st.st_size:
            raise LamFileError(f"{path}: the file grew while it was read")
        return data
    except IsADirectoryError:
        raise LamFileError(f"{path}: is a directory, not a .lam file") from None
    except FileNotFoundError:
        raise LamFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise LamFileError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_lam(path: str | os.PathLike, *, max_dense_bytes: int = DEFAULT_MAX_DENSE_BYTES) -> LamFile:
    """Read a .lam file: the avatar (rig with dense bases, points, Gaussians) and its metadata. Any problem
    with the file raises :class:`LamFileError` naming the file."""
    return decode_lam(_load(path), max_dense_bytes=max_dense_bytes, source=str(path))


def inspect_lam(path: str | os.PathLike) -> Container:
    """Check a file's framing and header (nothing is inflated) and return them."""
    data = _load(path)
    try:
        container = parse(data)
        check_header(container.header)
    except LamFileError as exc:
        raise LamFileError(f"{path}: {exc}") from None
    return container


__all__ = ["ChunkInfo", "LamFile", "chunk_infos", "check_header", "decode_lam", "inspect_lam", "read_lam"]
