"""A plain backdrop keyed out of the person mask.

The selfie segmenter assumes the person goes on below the picture: on a photo whose lower part is the plain
backdrop (a bust that fades out, a studio shot on a plain wall, a render on white) it still marks that band as
"person" up to the bottom edge. Where the backdrop is plain (the confidently-background pixels on the picture's
border share one colour), pixels of that colour which touch the border are taken off the mask, softly by their
colour distance from the backdrop. A busy backdrop leaves the mask as it is.
"""

from __future__ import annotations

import numpy as np

BORDER_PX = 4            # the frame from which the backdrop's colour is read
MIN_BORDER_SHARE = 0.25  # at least this share of the frame must be confident background
PLAIN_SPREAD = 12.0      # 95th percentile of the frame's colour distance (0-255 RGB) for a "plain" backdrop
RAMP = (2.0, 4.0)        # soft key: 0 below RAMP[0] x spread, 1 above RAMP[1] x spread (spread floored at 4)


def key_plain_backdrop(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W) float32: ``mask`` with the plain backdrop's colour, where it touches the border, taken off."""
    from scipy import ndimage

    h, w = mask.shape
    frame = np.zeros((h, w), bool)
    frame[:BORDER_PX], frame[-BORDER_PX:], frame[:, :BORDER_PX], frame[:, -BORDER_PX:] = True, True, True, True
    bg = frame & (mask < 0.2)
    if bg.sum() < MIN_BORDER_SHARE * frame.sum():
        return mask
    colours = rgb[bg].astype(np.float32)
    centre = np.median(colours, axis=0)
    spread = float(np.percentile(np.linalg.norm(colours - centre, axis=1), 95))
    if spread > PLAIN_SPREAD:
        return mask
    scale = max(spread, 4.0)
    dist = np.linalg.norm(rgb.astype(np.float32) - centre, axis=2)
    keep = np.clip((dist - RAMP[0] * scale) / ((RAMP[1] - RAMP[0]) * scale), 0.0, 1.0)
    labels, _ = ndimage.label(keep < 1.0)
    touching = np.unique(labels[frame & (labels > 0)])
    backdrop = np.isin(labels, touching[touching > 0])
    return np.where(backdrop, mask * keep, mask).astype(np.float32)
