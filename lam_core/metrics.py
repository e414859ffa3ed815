"""Image agreement metrics used by the checks ("the browser's frame is within 35 dB of the reference").

Images are (H, W) or (H, W, C) arrays or tensors with values in [0, ``data_range``] (1.0 by default); a mask is
(H, W) booleans selecting the pixels that count (all of them when omitted).
"""

from __future__ import annotations

import math

import numpy as np


def _as_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _pair(a, b, mask):
    a, b = _as_numpy(a), _as_numpy(b)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"metrics: images must have the same (H, W) or (H, W, C) shape, got {a.shape} and {b.shape}")
    m = None
    if mask is not None:
        m = _as_numpy(mask).astype(bool)
        if m.shape != a.shape[:2]:
            raise ValueError(f"metrics: mask has shape {m.shape}, expected {a.shape[:2]}")
        if not m.any():
            raise ValueError("metrics: the mask selects no pixels")
    return a, b, m


def psnr(a, b, mask=None, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB over the (masked) pixels and all channels; ``inf`` when identical."""
    a, b, m = _pair(a, b, mask)
    err = (a - b) ** 2
    mse = float(err[m].mean() if m is not None else err.mean())
    return math.inf if mse == 0.0 else 10.0 * math.log10(data_range ** 2 / mse)


def ssim(a, b, mask=None, data_range: float = 1.0) -> float:
    """Structural similarity (scikit-image's ``structural_similarity``: 7x7 uniform window, channels averaged),
    its per-pixel map averaged over the (masked) pixels."""
    from skimage.metrics import structural_similarity

    a, b, m = _pair(a, b, mask)
    if min(a.shape[:2]) < 7:
        raise ValueError(f"metrics: ssim needs images of at least 7x7 pixels, got {a.shape[:2]}")
    kw = {"channel_axis": -1} if a.ndim == 3 else {}
    _, full = structural_similarity(a, b, data_range=data_range, full=True, **kw)
    if full.ndim == 3:
        full = full.mean(-1)
    return float(full[m].mean() if m is not None else full.mean())
