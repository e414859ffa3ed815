"""The FLAME head carried by LAM's checkpoint (``renderer.flame_model.*`` buffers) as a HeadModel.

The checkpoint holds FLAME 2023 as LAM's code arranges it: ``v_template`` [V,3], ``shapedirs`` [V,3,400]
(300 shape then 100 expression components), ``posedirs`` [36, V*3], ``J_regressor`` [5,V], ``parents``
[5], ``lbs_weights`` [V,5], and the once-subdivided mesh (``faces_up`` and ``*_up`` arrays). The base faces
are not stored; they are recovered from ``faces_up``, whose first three quarters are the corner triangles
of the base faces in order (PyTorch3D's midpoint subdivision: corner k of face i is ``faces_up[k*F + i, 0]``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import LamError
from ..head_model import HeadModel, flame_expr_names

N_SHAPE, N_EXPR = 300, 100
REQUIRED = ("v_template", "shapedirs", "posedirs", "J_regressor", "parents", "lbs_weights", "faces_up")


class IncompleteFlameError(LamError):
    """The checkpoint's FLAME buffers are missing or inconsistent."""


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def base_faces_from_subdivided(faces_up: np.ndarray, n_vertices: int) -> np.ndarray:
    """Recover the base faces from a PyTorch3D-ordered midpoint subdivision, checking its structure."""
    fu = np.asarray(faces_up, np.int64)
    if fu.ndim != 2 or fu.shape[1] != 3 or len(fu) % 4:
        raise IncompleteFlameError(f"faces_up has shape {list(fu.shape)}, expected [4F, 3]")
    n = len(fu) // 4
    f0, f1, f2, f3 = fu[:n], fu[n:2 * n], fu[2 * n:3 * n], fu[3 * n:]
    base = np.stack([f0[:, 0], f1[:, 0], f2[:, 0]], 1)
    ok = ((base < n_vertices).all() and (f3 >= n_vertices).all() and (f0[:, 1] == f1[:, 2]).all()
          and (f0[:, 2] == f2[:, 1]).all() and (f1[:, 1] == f2[:, 2]).all()
          and (f3 == np.stack([f1[:, 1], f0[:, 2], f0[:, 1]], 1)).all())
    if not ok:
        raise IncompleteFlameError("faces_up is not a midpoint subdivision in the expected order")
    return base


def _edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges [E, 2] and, per face, the edge opposite each corner [F, 3]."""
    opp = np.stack([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]], 1)
    edges, idx = np.unique(np.sort(opp.reshape(-1, 2), 1), axis=0, return_inverse=True)
    return edges, idx.reshape(-1, 3)


def subdivided_faces(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """PyTorch3D's order of a midpoint subdivision's faces (the layout of ``faces_up``)."""
    faces = np.asarray(faces, np.int64)
    e = _edges(faces)[1] + n_vertices
    return np.concatenate([np.stack([faces[:, 0], e[:, 2], e[:, 1]], 1), np.stack([faces[:, 1], e[:, 0], e[:, 2]], 1),
                           np.stack([faces[:, 2], e[:, 1], e[:, 0]], 1), e])


def flame_from_buffers(buffers: dict[str, torch.Tensor], name: str = "FLAME (from the LAM checkpoint)") -> HeadModel:
    """A FLAME HeadModel from the checkpoint's buffers (keys without the ``renderer.flame_model.`` prefix)."""
    missing = [k for k in REQUIRED if k not in buffers]
    if missing:
        raise IncompleteFlameError(f"the checkpoint's FLAME buffers lack {', '.join(missing)}")
    v = _np(buffers["v_template"]).astype(np.float32)
    if v.ndim != 2 or v.shape[1] != 3:
        raise IncompleteFlameError(f"v_template has shape {list(v.shape)}, expected [V, 3]")
    nv = len(v)
    sd = _np(buffers["shapedirs"]).astype(np.float32)
    if sd.shape != (nv, 3, N_SHAPE + N_EXPR):
        raise IncompleteFlameError(f"shapedirs has shape {list(sd.shape)}, expected [{nv}, 3, {N_SHAPE + N_EXPR}]")
    pd = _np(buffers["posedirs"]).astype(np.float32)
    jr = _np(buffers["J_regressor"]).astype(np.float32)
    lw = _np(buffers["lbs_weights"]).astype(np.float32)
    parents = tuple(int(p) for p in _np(buffers["parents"]).reshape(-1))
    nj = len(parents)
    if pd.shape != ((nj - 1) * 9, nv * 3) or jr.shape != (nj, nv) or lw.shape != (nv, nj):
        raise IncompleteFlameError(f"posedirs {list(pd.shape)}, J_regressor {list(jr.shape)}, lbs_weights "
                                   f"{list(lw.shape)} do not fit {nv} vertices and {nj} joints")
    faces = base_faces_from_subdivided(_np(buffers["faces_up"]), nv)
    try:
        return HeadModel(name=name, v_template=v, faces=faces, j_regressor=jr, parents=parents, lbs_weights=lw,
                         shapedirs=np.ascontiguousarray(sd[:, :, :N_SHAPE]),
                         exprdirs=np.ascontiguousarray(sd[:, :, N_SHAPE:]),
                         posedirs=np.ascontiguousarray(pd.T.reshape(nv, 3, (nj - 1) * 9)),
                         expr_names=flame_expr_names(N_EXPR))
    except (ValueError, LamError) as exc:
        raise IncompleteFlameError(f"the checkpoint's FLAME buffers do not make a head: {exc}") from None


def flame_buffers(model: HeadModel) -> dict[str, torch.Tensor]:
    """The inverse: a FLAME-layout HeadModel as LAM's ``renderer.flame_model.*`` buffers (for tests and the
    benchmark's stand-in checkpoint)."""
    nv = model.n_vertices
    t = lambda a, dt=torch.float32: torch.from_numpy(np.ascontiguousarray(a)).to(dt)  # noqa: E731
    sd = np.concatenate([model.shapedirs, model.exprdirs], 2)
    edges = _edges(np.asarray(model.faces, np.int64))[0]
    up = lambda a: np.concatenate([a, 0.5 * (a[edges[:, 0]] + a[edges[:, 1]])])  # noqa: E731
    faces_up = subdivided_faces(model.faces, nv)
    parents = np.array([-1 if p < 0 else p for p in model.parents], np.int64)
    jr_up = np.zeros((model.n_joints, nv + len(edges)), np.float32)
    jr_up[:, :nv] = model.j_regressor
    return {
        "v_template": t(model.v_template), "shapedirs": t(sd),
        "posedirs": t(model.posedirs.reshape(nv * 3, -1).T), "J_regressor": t(model.j_regressor),
        "parents": t(parents, torch.int64), "lbs_weights": t(model.lbs_weights),
        "faces_up": t(faces_up, torch.int64), "v_template_up": t(up(model.v_template)),
        "shapedirs_up": t(up(sd)), "lbs_weights_up": t(up(model.lbs_weights)),
        "J_regressor_up": t(jr_up),
    }
