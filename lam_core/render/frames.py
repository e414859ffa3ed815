"""Rendering sequences: an avatar (rigged or static) x frame parameters x cameras -> one image per frame."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from ..camera import Camera
from ..gaussians import GaussianAvatar, PosedGaussians
from ..params import FrameParams
from . import RenderError, RenderOutput, render_gaussians, resolve_backend

ANIMATE_CHUNK = 16  # frames posed at once (bounded memory for long motions)


def rest_params(avatar: GaussianAvatar, frames: int = 1) -> FrameParams:
    """Zero expression, zero pose: the canonical (neutral) avatar."""
    return FrameParams.zeros(frames, avatar.rig.n_expr, avatar.rig.n_joints)


def framing_points(avatar: GaussianAvatar | PosedGaussians, params: FrameParams | None = None,
                   samples: int = 16) -> torch.Tensor:
    """Centres to frame a camera on: every posed frame of a static set, or up to ``samples`` evenly spaced frames
    of ``params`` (the rest pose without) for a rigged avatar, so a moving head stays in view."""
    if isinstance(avatar, PosedGaussians):
        return avatar.means
    if params is None:
        params = rest_params(avatar)
    idx = np.unique(np.linspace(0, params.batch - 1, min(samples, params.batch)).round().astype(int))
    sel = FrameParams(params.expr[idx], params.pose[idx], params.translation[idx])
    return avatar.animate(sel).means


def _frame_count(n_params: int | None, n_cameras: int) -> int:
    if n_params is None or n_params == 1:
        return n_cameras
    if n_cameras in (1, n_params):
        return n_params
    raise RenderError(f"render: {n_params} frames of parameters but {n_cameras} cameras")


def render_frames(avatar: GaussianAvatar | PosedGaussians, cameras: Camera | Sequence[Camera],
                  params: FrameParams | None = None, background=(1.0, 1.0, 1.0),
                  backend: str = "auto") -> Iterator[RenderOutput]:
    """Yield one :class:`RenderOutput` per frame. Frames = the parameters' batch (or a static set's posed frames)
    and/or the cameras; a single one of either is used for every frame. A rigged avatar without ``params``
    renders in its rest pose; a static set cannot take ``params``."""
    cams = [cameras] if isinstance(cameras, Camera) else list(cameras)
    if not cams:
        raise RenderError("render: no cameras")
    which = resolve_backend(backend)
    if isinstance(avatar, PosedGaussians):
        if params is not None:
            raise RenderError("render: these Gaussians are static (no rig), they cannot play animation parameters")
        b = avatar.means.shape[0]
        n = _frame_count(b, len(cams))
        for i in range(n):
            f = 0 if b == 1 else i
            yield render_gaussians(avatar.means[f], avatar.quats[f], avatar.scales, avatar.colors,
                                   avatar.opacities, cams[0 if len(cams) == 1 else i], background, which)
        return
    if not isinstance(avatar, GaussianAvatar):
        raise TypeError(f"render_frames: expected a GaussianAvatar or PosedGaussians, got {type(avatar).__name__}")
    if params is None:
        params = rest_params(avatar)
    n = _frame_count(params.batch, len(cams))
    for start in range(0, n, ANIMATE_CHUNK):
        stop = min(n, start + ANIMATE_CHUNK)
        posed = avatar.animate(params[0:1] if params.batch == 1 else params[start:stop])
        for i in range(start, stop):
            f = 0 if params.batch == 1 else i - start
            yield render_gaussians(posed.means[f], posed.quats[f], posed.scales, posed.colors, posed.opacities,
                                   cams[0 if len(cams) == 1 else i], background, which)
