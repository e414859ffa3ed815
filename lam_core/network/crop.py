"""The network's input image: the photo cropped as LAM's own pipeline crops it, on white, 504 x 504.

LAM's tracker crops a square around the detected head (its box grown 1.65 times) and mattes it; the
inference code then composites that crop on white through the (binarised) mask, crops a square centred on
the image centre whose half-size is the largest distance from the centre to the mask's bounding box, and
area-resizes it to the network's size. Here the head box comes from the MediaPipe face landmarks, grown to
cover the whole head (``HEAD_OVER_FACE``, an approximation of the tracker's head detector).
"""

from __future__ import annotations

import numpy as np

from ..errors import LamError

TRACKER_SCALE = 1.65
HEAD_OVER_FACE = 1.3
MASK_THRESHOLD = 180 / 255


class EmptyMaskError(LamError):
    """The person mask holds nothing near the face."""


def _square(img: np.ndarray, x0: int, y0: int, side: int, fill: float) -> np.ndarray:
    """``img[y0:y0+side, x0:x0+side]``, padded with ``fill`` where it leaves the image."""
    h, w = img.shape[:2]
    out = np.full((side, side) + img.shape[2:], fill, dtype=img.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def head_crop_box(face_points: np.ndarray) -> tuple[int, int, int]:
    """(x0, y0, side) of the tracker-like square around the head, from the face landmarks (pixels)."""
    xy = np.asarray(face_points)[:, :2]
    (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
    side = int(round(np.sqrt((x1 - x0) * (y1 - y0)) * TRACKER_SCALE * HEAD_OVER_FACE))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), max(side, 1)


def centre_crop_by_mask(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """LAM's ``center_crop_according_to_mask`` for a square: centred on the image centre, half-size the
    largest distance from the centre to the mask's bounding box."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        raise EmptyMaskError("the person mask is empty around the face: cannot crop the photo for the network")
    cx, cy = rgb.shape[1] // 2, rgb.shape[0] // 2
    half = max(abs(cx - xs.min()), abs(cx - xs.max()), abs(cy - ys.min()), abs(cy - ys.max()), 1)
    half = min(half, cx, cy)
    return rgb[cy - half:cy + half, cx - half:cx + half]


def network_input(rgb: np.ndarray, mask: np.ndarray, face_points: np.ndarray, size: int = 504) -> np.ndarray:
    """uint8 photo [H, W, 3], person mask [H, W] in [0, 1], face landmarks (pixels) -> float32 [size, size, 3]
    RGB in [0, 1] on white, as LAM's network expects it."""
    import cv2

    x0, y0, side = head_crop_box(face_points)
    photo = _square(rgb.astype(np.float32) / 255.0, x0, y0, side, 1.0)
    m = _square(np.asarray(mask, np.float32), x0, y0, side, 0.0) > MASK_THRESHOLD
    photo = photo * m[..., None] + (1.0 - m[..., None])
    crop = centre_crop_by_mask(photo, m)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
