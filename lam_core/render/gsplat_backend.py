"""The gsplat backend: gsplat 1.5 ``rasterization`` (classic mode, RGB + expected depth) on CUDA.

gsplat is imported only when this backend runs; it JIT-compiles its CUDA kernels on first use.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .projection import EPS2D


def gsplat_available() -> tuple[bool, str]:
    """(usable, reason if not)."""
    if not torch.cuda.is_available():
        return False, "CUDA is not available (gsplat's rasterization needs a CUDA GPU)"
    try:
        import gsplat  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "not usable here"
        return False, f"gsplat cannot be imported ({exc})"
    return True, ""


def rasterize_gsplat(means: Tensor, quats: Tensor, scales: Tensor, colors: Tensor, opacities: Tensor,
                     viewmat: Tensor, K: Tensor, width: int, height: int, background: Tensor,
                     near_plane: float, far_plane: float) -> tuple[Tensor, Tensor, Tensor]:
    """(rgb (H, W, 3), alpha (H, W), expected depth (H, W)) on the inputs' CUDA device."""
    from gsplat import rasterization

    dev = means.device
    render, alpha, _ = rasterization(
        means, quats, scales, opacities, colors, viewmat[None].to(dev), K[None].to(dev), width, height,
        near_plane=near_plane, far_plane=far_plane, eps2d=EPS2D, packed=False, tile_size=16,
        backgrounds=background.to(dev)[None], render_mode="RGB+ED", rasterize_mode="classic",
    )
    return render[0, ..., :3], alpha[0, ..., 0], render[0, ..., 3]
