"""The reference renderer: 3D Gaussians -> RGB, alpha and expected depth, exactly as gsplat 1.5 draws them.

Two backends with the same maths (gsplat 1.5 ``rasterization``, classic mode, ``packed=False``):

* ``"gsplat"``: gsplat itself, on CUDA;
* ``"cpu"``: the project's own vectorised torch implementation (:mod:`.projection` and :mod:`.cpu` describe
  every rule: EWA projection with the 1.3x field-of-view clamp of the Jacobian, +0.3 on the 2D covariance,
  near/far culling, the opacity-aware radius, 16-pixel tiles sorted by camera-space z, pixel centres at +0.5,
  ``alpha = min(0.999, opacity exp(-sigma))``, skip below 1/255, stop before transmittance reaches 1e-4,
  ``rgb = sum + T * background``);
* ``"auto"``: gsplat where ``torch.cuda.is_available()``, else the CPU backend.

Inputs are activated values: means (N, 3) world metres, quaternions (N, 4) **wxyz** (normalised by the
renderer), scales (N, 3) standard deviations, colours (N, 3) RGB, opacities (N,) in [0, 1]; torch tensors or
numpy arrays. Cameras are :class:`lam_core.camera.Camera` (OpenCV convention, see that module). The near plane
is 0.01 and the far plane 1e10 (scene units, camera-space z), gsplat's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import LamError
from .cpu import rasterize
from .projection import FAR_PLANE, NEAR_PLANE, intrinsics_tensors, project_gaussians

BACKENDS = ("auto", "cpu", "gsplat")


class RenderError(LamError):
    """A rendering request that cannot be served (unknown backend, gsplat without CUDA, bad inputs)."""


@dataclass
class RenderOutput:
    """One rendered image: ``rgb`` (H, W, 3) float32, ``alpha`` (H, W) = 1 - final transmittance, ``depth``
    (H, W) expected camera-space z of what was drawn (0 where nothing was)."""

    rgb: Tensor
    alpha: Tensor
    depth: Tensor

    def rgb_uint8(self) -> np.ndarray:
        """The colour image as (H, W, 3) uint8 (clamped to [0, 1], rounded to nearest)."""
        return (self.rgb.detach().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


def resolve_backend(backend: str) -> str:
    """'auto' -> 'gsplat' or 'cpu'; checks that the requested backend can run here."""
    if backend not in BACKENDS:
        raise RenderError(f"unknown render backend {backend!r} (expected one of {', '.join(BACKENDS)})")
    if backend == "cpu":
        return "cpu"
    from .gsplat_backend import gsplat_available

    ok, why = gsplat_available()
    if backend == "auto":
        return "gsplat" if ok else "cpu"
    if not ok:
        raise RenderError(f"the gsplat backend cannot run here: {why}; use the cpu backend")
    return "gsplat"


def _tensor(x, name: str, shape: tuple, device=None) -> Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
    t = t.detach().to(dtype=torch.float32, device=device)
    if t.ndim != len(shape) or any(w is not None and t.shape[i] != w for i, w in enumerate(shape)):
        want = "(" + ", ".join("N" if w is None else str(w) for w in shape) + ")"
        raise RenderError(f"render: {name} has shape {tuple(t.shape)}, expected {want}")
    return t


def _background(background: Sequence[float] | Tensor) -> Tensor:
    bg = torch.as_tensor(background, dtype=torch.float32).reshape(-1).cpu()
    if bg.shape != (3,) or not torch.isfinite(bg).all():
        raise RenderError(f"render: background must be 3 finite numbers, got {background!r}")
    return bg


def render_gaussians(means, quats, scales, colors, opacities, camera, background=(1.0, 1.0, 1.0),
                     backend: str = "auto", near_plane: float = NEAR_PLANE,
                     far_plane: float = FAR_PLANE) -> RenderOutput:
    """Render N Gaussians with ``camera``; the result is on the device of ``means`` (the CPU for numpy)."""
    out_device = means.device if isinstance(means, Tensor) else torch.device("cpu")
    which = resolve_backend(backend)
    dev = torch.device("cuda") if which == "gsplat" else torch.device("cpu")
    means = _tensor(means, "means", (None, 3), dev)
    n = means.shape[0]
    quats = _tensor(quats, "quats", (n, 4), dev)
    scales = _tensor(scales, "scales", (n, 3), dev)
    colors = _tensor(colors, "colors", (n, 3), dev)
    opacities = _tensor(opacities, "opacities", (n,), dev)
    bg = _background(background)
    viewmat, K = intrinsics_tensors(camera)
    w, h = camera.width, camera.height
    with torch.no_grad():
        if which == "gsplat":
            from .gsplat_backend import rasterize_gsplat

            rgb, alpha, depth = rasterize_gsplat(means, quats, scales, colors, opacities, viewmat, K, w, h, bg,
                                                 near_plane, far_plane)
        else:
            proj = project_gaussians(means, quats, scales, opacities, viewmat, K, w, h, near_plane, far_plane)
            feats = torch.cat([colors, proj.depths[:, None]], 1)
            img, alpha = rasterize(proj, opacities, feats, torch.cat([bg, bg.new_zeros(1)]), w, h)
            rgb = img[..., :3]
            depth = img[..., 3] / alpha.clamp_min(1e-10)
    return RenderOutput(rgb.contiguous().to(out_device), alpha.contiguous().to(out_device),
                        depth.contiguous().to(out_device))


def render_posed(posed, camera, frame: int = 0, background=(1.0, 1.0, 1.0), backend: str = "auto",
                 near_plane: float = NEAR_PLANE, far_plane: float = FAR_PLANE) -> RenderOutput:
    """Render frame ``frame`` of a :class:`~lam_core.gaussians.PosedGaussians`."""
    b = posed.means.shape[0]
    if not -b <= frame < b:
        raise RenderError(f"render: frame {frame} is out of range for {b} posed frame(s)")
    return render_gaussians(posed.means[frame], posed.quats[frame], posed.scales, posed.colors, posed.opacities,
                            camera, background, backend, near_plane, far_plane)


__all__ = ["BACKENDS", "RenderError", "RenderOutput", "render_gaussians", "render_posed", "resolve_backend"]

from .frames import render_frames  # noqa: E402  (frames.py uses the names above)

__all__ += ["render_frames"]
