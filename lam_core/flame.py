"""Loading FLAME (2020 ``generic_model.pkl``, ``flame2023.pkl``, ``flame2023_Open.pkl``, or an ``.npz``
with the same keys) into a :class:`~lam_core.head_model.HeadModel`, without chumpy and without running any
code from the file (see :mod:`lam_core.safe_pickle`).

FLAME's licence forbids redistributing it: the user brings the file, by argument or ``LAM_FLAME_MODEL``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from . import safe_pickle
from .errors import ModelFileError
from .npz import load_npz

if TYPE_CHECKING:
    from .head_model import HeadModel

FLAME_ENV = "LAM_FLAME_MODEL"
N_SHAPE = 300
N_EXPR = 100
REQUIRED_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")


def resolve_flame_path(path: str | os.PathLike | None = None) -> Path:
    """The FLAME file to use: ``path`` if given, else ``$LAM_FLAME_MODEL``; errors name what is missing."""
    if path is None or str(path) == "":
        env = os.environ.get(FLAME_ENV, "")
        if not env:
            raise ModelFileError(f"no FLAME model given: pass --flame-model PATH or set {FLAME_ENV} "
                                 "(FLAME cannot be shipped; download it from flame.is.tue.mpg.de)")
        path = env
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelFileError(f"FLAME model not found: {p}")
    return p


def _read_npz(path: Path) -> dict[str, object]:
    return load_npz(path, ModelFileError)


def read_flame_arrays(path: str | os.PathLike | None = None) -> tuple[Path, dict[str, object]]:
    """The raw key -> array mapping of a FLAME file (pickle or npz), checked to hold the required keys."""
    p = resolve_flame_path(path)
    with open(p, "rb") as f:
        head = f.read(4)
    data = _read_npz(p) if head.startswith(b"PK") else safe_pickle.load(str(p))
    if not isinstance(data, dict):
        raise ModelFileError(f"{p}: expected a dictionary of arrays, found {type(data).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ModelFileError(f"{p}: not a FLAME model, missing {', '.join(missing)}")
    return p, data


def _dense(a: object, key: str, where: Path) -> np.ndarray:
    if sp.issparse(a):
        a = a.toarray()
    if not isinstance(a, np.ndarray) or not np.issubdtype(a.dtype, np.number):
        raise ModelFileError(f"{where}: {key} is {type(a).__name__}, expected a numeric array")
    return a


def load_flame(path: str | os.PathLike | None = None, n_shape: int = N_SHAPE, n_expr: int = N_EXPR) -> HeadModel:
    """Load a FLAME model file as a HeadModel with ``n_shape`` shape and ``n_expr`` expression components.

    FLAME stores shape and expression together in ``shapedirs`` (300 + 100 columns); an npz may instead
    carry a separate ``exprdirs``. Shapes are checked and the wrong array is named.
    """
    from .head_model import JOINT_NAMES, HeadModel, flame_expr_names, parents_from_kintree  # torch, when used

    p, d = read_flame_arrays(path)
    a = {k: _dense(d[k], k, p) for k in REQUIRED_KEYS}
    v = a["v_template"]
    if v.ndim != 2 or v.shape[1] != 3:
        raise ModelFileError(f"{p}: v_template has shape {v.shape}, expected (V, 3)")
    nv = v.shape[0]
    sd = a["shapedirs"]
    if sd.ndim != 3 or sd.shape[:2] != (nv, 3):
        raise ModelFileError(f"{p}: shapedirs has shape {sd.shape}, expected ({nv}, 3, {n_shape + n_expr})")
    if "exprdirs" in d:
        ed = _dense(d["exprdirs"], "exprdirs", p)
        if ed.ndim != 3 or ed.shape[:2] != (nv, 3) or ed.shape[2] < n_expr:
            raise ModelFileError(f"{p}: exprdirs has shape {ed.shape}, expected ({nv}, 3, >= {n_expr})")
        if sd.shape[2] < n_shape:
            raise ModelFileError(f"{p}: shapedirs has {sd.shape[2]} components, expected >= {n_shape}")
        shapedirs, exprdirs = sd[:, :, :n_shape], ed[:, :, :n_expr]
    else:
        if sd.shape[2] != N_SHAPE + N_EXPR or n_shape > N_SHAPE or n_expr > N_EXPR:
            raise ModelFileError(f"{p}: shapedirs has shape {sd.shape}, expected ({nv}, 3, {N_SHAPE + N_EXPR}) "
                                 f"holding {N_SHAPE} shape then {N_EXPR} expression components")
        shapedirs, exprdirs = sd[:, :, :n_shape], sd[:, :, N_SHAPE:N_SHAPE + n_expr]
    pd = a["posedirs"]
    parents = parents_from_kintree(a["kintree_table"], str(p))
    if len(parents) != len(JOINT_NAMES):
        raise ModelFileError(f"{p}: kintree_table has {len(parents)} joints, FLAME has {len(JOINT_NAMES)}")
    faces = a["f"]
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise ModelFileError(f"{p}: f has shape {faces.shape} and dtype {faces.dtype}, expected integer (F, 3)")
    f32 = np.float32
    return HeadModel(
        name=f"FLAME ({p.name})",
        v_template=np.ascontiguousarray(v, dtype=f32),
        faces=np.ascontiguousarray(faces, dtype=np.int64),
        j_regressor=np.ascontiguousarray(a["J_regressor"], dtype=f32),
        parents=parents,
        lbs_weights=np.ascontiguousarray(a["weights"], dtype=f32),
        shapedirs=np.ascontiguousarray(shapedirs, dtype=f32),
        exprdirs=np.ascontiguousarray(exprdirs, dtype=f32),
        posedirs=np.ascontiguousarray(pd, dtype=f32),
        expr_names=flame_expr_names(exprdirs.shape[2]),
    )


def save_flame_npz(model_path: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """Convert a FLAME pickle to an ``.npz`` with the same keys (dense arrays), written atomically.

    The npz loads without any pickle at all; like the pickle it stays the user's (never ship it).
    """
    from .atomic import atomic_path

    p, d = read_flame_arrays(model_path)
    arrays = {k: _dense(v, k, p) for k, v in d.items() if isinstance(v, np.ndarray) or sp.issparse(v)}
    with atomic_path(out_path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
