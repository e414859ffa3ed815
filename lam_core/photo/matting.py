"""Foreground (person, hair included) mask of a photo with MediaPipe selfie segmentation."""

from __future__ import annotations

import numpy as np

from ._mediapipe import quiet_stderr, selfie_segmentation
from .backdrop import key_plain_backdrop


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 on the person (a plain backdrop keyed out: lam_core.photo.backdrop)."""
    with quiet_stderr():
        result = selfie_segmentation().process(np.ascontiguousarray(rgb))
    mask = result.segmentation_mask
    if mask is None or mask.shape != rgb.shape[:2]:
        return np.ones(rgb.shape[:2], np.float32)
    return key_plain_backdrop(rgb, np.clip(mask.astype(np.float32), 0.0, 1.0))
