"""Foreground (person, hair included) mask of a photo with MediaPipe selfie segmentation.

The segmenter sees its input at 256x256. A person who fills a small part of a large or landscape photo is
then a few dozen pixels to it: the mask comes out coarse, and things beside the person (a flag, a held helmet)
are taken in. Given the face, the segmenter runs on a crop around the person's bust instead (the way the face
mesh runs on a crop around the face), and the mask is pasted back (0 outside the crop). The crop is square
where the photo holds it; a portrait photo narrower than the bust keeps its width, and the crop its full
height down the bust (a square as wide as the photo cut the body off at mid-chest).
"""

from __future__ import annotations

import numpy as np

from ._mediapipe import quiet_stderr, selfie_segmentation
from .backdrop import key_plain_backdrop

CROP_FACES = 7.0   # the crop is this many face heights wide and tall (shoulders ~3 wide, the bust 4 below the chin) ...
CROP_ABOVE = 2.0   # ... its top this many face heights above the face's top (the hair)
FULL_SHARE = 0.8   # a crop that would cover this share of the photo: the whole photo is segmented


def foreground_mask(rgb: np.ndarray, face=None) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 on the person (a plain backdrop keyed out: lam_core.photo.backdrop).
    ``face`` (:class:`~lam_core.photo.landmarks.FaceLandmarks`): segment a crop around its bust
    (:func:`person_box`)."""
    box = None if face is None else person_box(face.points, rgb.shape[:2])
    if box is None:
        return _segment(rgb)
    x0, y0, x1, y1 = box
    mask = np.zeros(rgb.shape[:2], np.float32)
    mask[y0:y1, x0:x1] = _segment(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    return mask


def person_box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1): a box round the bust of the face whose landmarks are ``points`` (pixels), inside an
    image of ``shape`` (H, W): a square CROP_FACES face heights wide, or as wide as the image holds; as tall,
    or taller where the image is narrower than the bust (a portrait photo keeps the bust below the face down to
    CROP_FACES face heights); None when it would cover most of the image anyway."""
    h, w = shape
    top, bottom = float(points[:468, 1].min()), float(points[:468, 1].max())
    side = CROP_FACES * (bottom - top)
    bw = int(round(min(side, h, w)))
    bh = int(round(min(side, h)))
    if bw * bh >= FULL_SHARE * h * w or min(bw, bh) < 16:
        return None
    cx = float(points[:468, 0].mean())
    x0 = int(np.clip(round(cx - bw / 2), 0, w - bw))
    y0 = int(np.clip(round(top - CROP_ABOVE * (bottom - top)), 0, h - bh))
    return x0, y0, x0 + bw, y0 + bh


def _segment(rgb: np.ndarray) -> np.ndarray:
    with quiet_stderr():
        result = selfie_segmentation().process(np.ascontiguousarray(rgb))
    mask = result.segmentation_mask
    if mask is None or mask.shape != rgb.shape[:2]:
        return np.ones(rgb.shape[:2], np.float32)
    return key_plain_backdrop(rgb, np.clip(mask.astype(np.float32), 0.0, 1.0))
