"""Joints and skinning of the open head: FLAME's 5 joints [global, neck, jaw, eye_l, eye_r] placed by a
joint regressor (non-negative rows summing to 1, so the joints follow any shape), and smooth LBS weights.

- global: the centre of the neck opening; its weight fades up the neck from the base.
- neck: inside the upper neck; it carries the head.
- jaw: between the jaw hinges in front of the ears; its weight is a harmonic field over the skin, 1 on the
  chin, the lower lip and the floor of the mouth, 0 on the upper lip, above the mouth, behind the jaw and down
  the neck; the lower teeth are rigid on it.
- eye_l, eye_r: the eyeball centres (the mean of the eyeball's symmetric vertices); eyeballs are rigid.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from . import landmarks as L
from .cranium import CM, neck_axis_z
from .head_mesh import SKIN, HeadMesh
from .mesh_ops import adjacency, harmonic

NECK_JOINT_Y = -5.5 * CM                          # on the neck's axis
JAW_JOINT = np.array([0.0, -0.6, -2.8]) * CM
GLOBAL_FADE = (-12.0 * CM)                         # global weight reaches 0 here (1 at the neck's base)
JAW_ABOVE = -2.6 * CM                              # no jaw weight above this height
JAW_BEHIND = -4.2 * CM                             # ... behind this depth
JAW_NECK = -12.5 * CM                              # ... nor below this height


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def skin_ids(mesh: HeadMesh) -> np.ndarray:
    return np.concatenate([mesh.regions[r] for r in SKIN])


def regressor_row(points: np.ndarray, ids: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative weights over ``ids`` summing to 1 whose weighted mean of ``points[ids]`` is ``target``
    (as close as possible, spread as evenly as the constraint allows); returns (weights, residual metres)."""
    a = points[ids].T / CM  # centimetres: a well-scaled system
    n = len(ids)
    mu, lam = 1e3, 1e-2
    m = np.vstack([np.sqrt(mu) * a, np.sqrt(mu) * np.ones((1, n)), np.sqrt(lam) * np.eye(n)])
    rhs = np.concatenate([np.sqrt(mu) * target / CM, [np.sqrt(mu)], np.sqrt(lam) * np.full(n, 1.0 / n)])
    w, _ = nnls(m, rhs, maxiter=50 * n)
    w = w / w.sum()
    return w, float(np.linalg.norm(points[ids].T @ w - target))


def joint_targets(mesh: HeadMesh) -> np.ndarray:
    v = mesh.vertices
    rim = v[mesh.loops["neck"]].mean(0)
    y = NECK_JOINT_Y
    neck = np.array([0.0, y, float(neck_axis_z(np.array(y)))])
    return np.stack([rim, neck, JAW_JOINT, mesh.eye_centres[0], mesh.eye_centres[1]])


def joint_regressor(mesh: HeadMesh) -> np.ndarray:
    """(5, V) rows >= 0 summing to 1."""
    v = mesh.vertices
    nv = len(v)
    jr = np.zeros((5, nv))
    jr[0, mesh.loops["neck"]] = 1.0 / len(mesh.loops["neck"])
    targets = joint_targets(mesh)
    cran = mesh.regions["cranium"]
    band = cran[np.abs(v[cran, 1] - targets[1, 1]) < 1.2 * CM]
    jr[1, band], _ = regressor_row(v, band, targets[1])
    skin = skin_ids(mesh)
    near = skin[(np.abs(v[skin, 0]) > 5.5 * CM) & (np.abs(v[skin, 1] - JAW_JOINT[1]) < 2.0 * CM)
                & (np.abs(v[skin, 2] - JAW_JOINT[2]) < 2.0 * CM)]
    jr[2, near], _ = regressor_row(v, near, targets[2])
    for j, name in ((3, "eyeball_l"), (4, "eyeball_r")):
        ids = mesh.regions[name]
        jr[j, ids] = 1.0 / len(ids)
    return jr


def jaw_field(mesh: HeadMesh) -> np.ndarray:
    """(V,) jaw share of the skin (harmonic between fixed regions), 1 on the lower teeth, 0 elsewhere."""
    v = mesh.vertices
    nv = len(v)
    skin = skin_ids(mesh)
    adj = adjacency(mesh.faces, nv, v)
    x, y, z = v.T
    face = np.zeros(nv, bool)
    face[mesh.regions["face"]] = True
    one = np.zeros(nv, bool)
    one[list(L.LIPS_INNER_LOWER[1:-1] + L.LIPS_OUTER_LOWER[1:-1])] = True
    one |= face & (y < -6.3 * CM) & (np.abs(x) < 4.5 * CM)
    mouth = np.zeros(nv, bool)
    mouth[mesh.regions["mouth"]] = True
    one |= mouth & (y < mesh.occlusal_y - 0.9 * CM)
    zero = np.zeros(nv, bool)
    zero[list(L.LIPS_INNER_UPPER[1:-1] + L.LIPS_OUTER_UPPER[1:-1])] = True
    zero |= (y > JAW_ABOVE) | (z < JAW_BEHIND) | (y < JAW_NECK)
    zero |= mouth & (y > mesh.occlusal_y + 0.7 * CM)
    zero &= ~one
    in_skin = np.zeros(nv, bool)
    in_skin[skin] = True
    fixed = np.flatnonzero(in_skin & (one | zero))
    free = np.flatnonzero(in_skin & ~one & ~zero)
    w = harmonic(adj, fixed, one[fixed].astype(float)[:, None], free)[:, 0]
    w[mesh.regions["teeth_lower"]] = 1.0
    return np.clip(w, 0.0, 1.0)


def lbs_weights(mesh: HeadMesh) -> np.ndarray:
    """(V, 5) skinning weights, rows summing to 1."""
    v = mesh.vertices
    nv = len(v)
    rim_y = float(v[mesh.loops["neck"], 1].mean())
    skin = np.zeros(nv, bool)
    skin[skin_ids(mesh)] = True
    wg = np.where(skin, _smoothstep((GLOBAL_FADE - v[:, 1]) / (GLOBAL_FADE - rim_y)), 0.0)
    wj = jaw_field(mesh)
    w = np.zeros((nv, 5))
    w[:, 0] = wg
    w[:, 2] = (1 - wg) * wj
    w[:, 1] = (1 - wg) * (1 - wj)
    for j, name in ((3, "eyeball_l"), (4, "eyeball_r")):
        w[mesh.regions[name]] = 0.0
        w[mesh.regions[name], j] = 1.0
    return w
