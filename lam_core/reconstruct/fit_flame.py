"""Fitting a FLAME-layout head model to a photo's landmarks through its landmark embedding.

Alternates (a) pose and camera by weighted Procrustes of the model's current landmarks against MediaPipe's
and (b) shape and expression by ridge-regularised linear least squares against the landmarks back-projected
into the head frame, for each jaw angle of a small grid (for a fixed jaw angle the landmarks are linear in
shape and expression, joints included). The shape goes into the canonical avatar; the expression and jaw
are the photo's pose, so the canonical avatar is as neutral as the model can explain.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..head_model import HeadModel
from ..params import FrameParams
from ..photo.landmarks import FaceLandmarks
from .fit_open_head import HeadFit, _back_project
from .pose import photo_camera, similarity_procrustes

JAW = "jaw"                               # the joint the fit opens, by name
LANDMARK_SIGMA = 0.002    # metres: how far MediaPipe's landmarks stray from the true surface points
JAW_GRID = np.linspace(0.0, 0.4, 9)      # first pass; later passes refine around the best angle
JAW_REFINE = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])
ITERATIONS = 3
# MediaPipe's rigid landmarks (forehead, nose bridge, cheekbones): the ones its own face-geometry module uses
# for Procrustes. Used when the embedding has them; otherwise every embedded landmark counts.
RIGID_IDS = (4, 6, 10, 33, 54, 67, 117, 119, 121, 127, 129, 132, 133, 136, 143, 147, 198, 205, 263, 284, 297,
             346, 348, 350, 356, 358, 361, 362, 365, 372, 376, 420, 425)


def _embedding_matrix(model: HeadModel) -> sp.csr_matrix:
    lm = model.landmarks
    tri = model.faces[lm.faces]
    rows = np.repeat(np.arange(len(lm.ids)), 3)
    return sp.csr_matrix((lm.bary.reshape(-1), (rows, tri.reshape(-1))), shape=(len(lm.ids), model.n_vertices))


def _rot_x(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


class _LinearLandmarks:
    """Landmark positions as an affine function of [shape, expression] for a fixed jaw angle."""

    def __init__(self, model: HeadModel):
        e = _embedding_matrix(model)
        v = model.v_template.astype(np.float64)
        basis = np.concatenate([model.shapedirs, model.exprdirs], 2).astype(np.float64)  # (V, 3, S+K)
        self.n_shape, self.n_expr = model.n_shape, model.n_expr
        self.p0 = e @ v                                                   # (L, 3)
        self.dp = np.stack([e @ basis[:, c, :] for c in range(3)], 1)     # (L, 3, S+K)
        jaw = model.joint_names.index(JAW)
        jr = model.j_regressor[jaw].astype(np.float64)
        self.j0 = jr @ v                                                  # (3,)
        self.dj = np.einsum("v,vck->ck", jr, basis)                      # (3, S+K)
        self.w = e @ model.lbs_weights[:, jaw].astype(np.float64)        # (L,) jaw weight

    def affine(self, theta: float) -> tuple[np.ndarray, np.ndarray]:
        """(b (L, 3), A (L, 3, S+K)) with landmarks = b + A @ x for the jaw rotated by theta."""
        r = _rot_x(theta)
        w = self.w[:, None]
        b = (1 - w) * self.p0 + w * ((self.p0 - self.j0) @ r.T + self.j0)
        rel = self.dp - self.dj[None]                                     # d(p - J)
        rot = np.einsum("ij,ljk->lik", r, rel) + self.dj[None]
        a = (1 - w[..., None]) * self.dp + w[..., None] * rot
        return b, a


def fit_flame(model: HeadModel, face: FaceLandmarks, focal: float | None = None) -> HeadFit:
    """Fit ``model`` (with a landmark embedding) to one photo's landmarks."""
    if model.landmarks is None:
        raise ValueError("fit_flame needs a head model with a landmark embedding")
    ids = model.landmarks.ids
    lin = _LinearLandmarks(model)
    q = face.points[ids]
    rigid = np.isin(ids, RIGID_IDS)
    if rigid.sum() < 6:
        rigid = np.ones(len(ids), bool)
    n = lin.n_shape + lin.n_expr
    x = np.zeros(n)
    theta = 0.0
    reg = np.full(n, (LANDMARK_SIGMA ** 2))  # unit-variance prior on every PCA coefficient
    w, h = face.image_size
    for it in range(ITERATIONS):
        b, a = lin.affine(theta)
        current = b + a @ x
        sim = similarity_procrustes(current[rigid], q[rigid])
        camera = photo_camera(sim, w, h, anchor=current[rigid].mean(0), focal=focal)
        seen = _back_project(face, sim, camera)[ids]
        best = None
        grid = JAW_GRID if it == 0 else np.clip(theta + JAW_REFINE, 0.0, JAW_GRID[-1])
        for th in np.unique(grid):
            b, a = lin.affine(th)
            am = a.reshape(-1, n)
            rhs = (seen - b).reshape(-1)
            sol = np.linalg.solve(am.T @ am + np.diag(reg), am.T @ rhs)
            cost = ((am @ sol - rhs) ** 2).sum() + (reg * sol ** 2).sum()
            if best is None or cost < best[0]:
                best = (cost, th, sol)
        _, theta, x = best
    shape, expr = x[: lin.n_shape], x[lin.n_shape:]
    params = FrameParams.zeros(1, model.n_expr, model.n_joints)
    params.expr[0] = torch.from_numpy(expr.astype(np.float32))
    params.pose[0, model.joint_names.index(JAW), 0] = float(theta)
    b, a = lin.affine(theta)
    fitted = b + a @ x
    uv = camera.project(fitted)[:, :2]
    residual = float(np.sqrt(((uv - q[:, :2]) ** 2).sum(1).mean()))
    return HeadFit(shape=shape, camera=camera, params=params, landmarks=seen, similarity=sim, residual_px=residual)
