"""Building the open head once and keeping it: a cache file keyed by the source asset and the builder.

The key is the SHA-256 of the canonical mesh's protobuf bytes, BUILDER_VERSION and the builder's own source
files, so a different npm package or a changed builder builds anew. The file lives in ``$LAM_CACHE_DIR`` (or
``$XDG_CACHE_HOME/lam-avatar``, ``~/.cache/lam-avatar``) and is written atomically. The bases are mostly
zeros and are stored sparse; loading densifies them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import ModelFileError
from .build import OpenHeadArrays

BUILDER_VERSION = "1"
CACHE_ENV = "LAM_CACHE_DIR"
_ARRAY_KEYS = ("v_template", "faces", "j_regressor", "lbs_weights", "lmk_ids", "lmk_faces", "lmk_bary",
               "vertex_region", "procrustes_ids", "procrustes_weights", "face_uvs")


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "lam-avatar"


BUILDER_MODULES = ("assets", "build", "cranium", "expressions", "face", "head_mesh", "landmarks", "mesh_ops",
                   "parts", "rigging", "shape")


def builder_digest() -> str:
    """BUILDER_VERSION and the source of the modules that make the arrays."""
    h = hashlib.sha256(BUILDER_VERSION.encode())
    for p in (Path(__file__).parent / f"{m}.py" for m in BUILDER_MODULES):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def cache_key(asset_digest: str) -> str:
    return hashlib.sha256(f"{asset_digest}:{builder_digest()}".encode()).hexdigest()[:20]


def cache_path(asset_digest: str, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"open_head-{cache_key(asset_digest)}.npz"


def save_arrays(arrays: OpenHeadArrays, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = arrays.basis.reshape(-1)
    nz = np.flatnonzero(flat)
    meta = {"n_controls": arrays.n_controls, "n_face_vertices": arrays.n_face_vertices,
            "expr_names": list(arrays.expr_names), "shape_names": list(arrays.shape_names),
            "basis_shape": list(arrays.basis.shape), "builder": BUILDER_VERSION}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                     basis_index=nz.astype(np.int64), basis_value=flat[nz],
                     **{k: getattr(arrays, k) for k in _ARRAY_KEYS})


def load_arrays(path: Path) -> OpenHeadArrays:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            data = {k: z[k] for k in _ARRAY_KEYS}
            shape = tuple(int(s) for s in meta["basis_shape"])
            idx, val = z["basis_index"], z["basis_value"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: unreadable open-head cache ({exc}); delete it to rebuild") from None
    size = int(np.prod(shape))
    if len(shape) != 3 or len(idx) != len(val) or (len(idx) and (idx.min() < 0 or idx.max() >= size)):
        raise ModelFileError(f"{path}: corrupt open-head cache; delete it to rebuild")
    basis = np.zeros(size, np.float32)
    basis[idx] = val
    return OpenHeadArrays(basis=basis.reshape(shape), n_controls=int(meta["n_controls"]),
                          n_face_vertices=int(meta["n_face_vertices"]), expr_names=tuple(meta["expr_names"]),
                          shape_names=tuple(meta["shape_names"]), **data)
