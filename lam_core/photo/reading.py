"""What the reconstructors get from a photo (:class:`PhotoInput`), gathered by :func:`read_photo_input`.

Needs MediaPipe and numpy only, not torch: ``lam-export`` runs it beside torch's import
(exporter/photo_read.py)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class PhotoInput:
    rgb: np.ndarray            # (H, W, 3) uint8
    face: object               # lam_core.photo.FaceLandmarks (478 landmarks, pixels)
    mask: np.ndarray           # (H, W) person mask in [0, 1]
    focal: float | None = None  # the photo's focal length in pixels, when known
    torso_yaw: float = 0.0     # the body's turn, radians (lam_core.photo.pose.torso_yaw; 0: facing the camera)


def read_photo_input(rgb: np.ndarray, name: str = "photo", timer=None, focal: float | None = None,
                     torso: bool = True) -> PhotoInput:
    """What the reconstructors get from a photo: MediaPipe's face landmarks (PhotoError when there is no
    usable face), the person mask and, with ``torso`` (the open head's bust uses it; a FLAME head and the
    network do not), the torso's turn from the pose landmarks' shoulders (0 when the photo shows none)."""
    from .landmarks import detect_face
    from .matting import foreground_mask
    from .pose import shoulders, torso_yaw

    timer = timer or (lambda stage: contextlib.nullcontext())
    with timer("face landmarks"):
        face = detect_face(rgb, name)
    with timer("person mask"):
        mask = foreground_mask(rgb, face)
    yaw = 0.0
    if torso:
        with timer("pose landmarks"):
            yaw = torso_yaw(shoulders(rgb))
    return PhotoInput(rgb, face, mask, focal, yaw)
