"""What the reconstructors get from a photo (:class:`PhotoInput`), gathered by :func:`read_photo_input`.

Needs MediaPipe and numpy only, not torch: ``lam-export`` runs it beside torch's import
(exporter/photo_read.py)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

import numpy as np

# The geometric reconstructors work on the photo scaled down so that the face is at most this many pixels tall
# (twice that for --points 80k). ~20K Gaussians cannot hold more: on a 1200-px portrait (face 373 px) the
# avatar made at a 160-px or 224-px face looked the same, front and turned, rendered at the photo's full size,
# while a 12-MP phone photo (face 1288 px) took 70 s and 16 GB at its own size (the colour refinement renders
# the person's crop at the photo's resolution).
WORK_FACE_PX = 192.0


@dataclass(frozen=True, eq=False)
class PhotoInput:
    rgb: np.ndarray            # (H, W, 3) uint8: the photo, or its working copy (scaled down, WORK_FACE_PX)
    face: object               # lam_core.photo.FaceLandmarks (478 landmarks, pixels of ``rgb``)
    mask: np.ndarray           # (H, W) person mask in [0, 1]
    focal: float | None = None  # the focal length in pixels of ``rgb``, when known
    torso_yaw: float = 0.0     # the body's turn, radians (lam_core.photo.pose.torso_yaw; 0: facing the camera)
    photo_shape: tuple[int, int] | None = None   # (H, W) of the photo itself, when ``rgb`` is a scaled copy

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): ``rgb``'s pixels per pixel of the photo itself, across and down (1, 1 when it is the photo)."""
        if self.photo_shape is None:
            return 1.0, 1.0
        (h, w), (hw, ww) = self.photo_shape, self.rgb.shape[:2]
        return ww / w, hw / h

    def camera_in_photo(self, camera):
        """``camera`` (a :class:`~lam_core.camera.Camera` of ``rgb``) in the photo's own pixels."""
        if self.photo_shape is None:
            return camera
        from ..camera import Camera

        (h, w), (sx, sy) = self.photo_shape, self.scale
        return Camera(w, h, camera.fx / sx, camera.fy / sy, camera.cx / sx, camera.cy / sy,
                      world_to_camera=camera.world_to_camera)


def working_copy(rgb: np.ndarray, face, max_face_px: float | None):
    """(rgb, face): the photo scaled down (Lanczos) so the face's landmarks span at most ``max_face_px`` rows,
    and its landmarks with it; the photo as it is when it is no larger than that (or ``max_face_px`` is None)."""
    if max_face_px is None or face.height_px <= max_face_px:
        return rgb, face
    from PIL import Image

    h, w = rgb.shape[:2]
    k = max_face_px / face.height_px
    size = (max(round(w * k), 1), max(round(h * k), 1))
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    sx, sy = size[0] / w, size[1] / h
    return small, replace(face, points=face.points * np.array([sx, sy, sx]), image_size=size)


def read_photo_input(rgb: np.ndarray, name: str = "photo", timer=None, focal: float | None = None,
                     torso: bool = True, max_face_px: float | None = None) -> PhotoInput:
    """What the reconstructors get from a photo: MediaPipe's face landmarks (PhotoError when there is no
    usable face), the person mask and, with ``torso`` (the open head's bust uses it; a FLAME head and the
    network do not), the torso's turn from the pose landmarks' shoulders (0 when the photo shows none).
    ``max_face_px``: the face is found in the photo as it is, then the rest is gathered on a copy scaled down
    so the face is at most that tall (:data:`WORK_FACE_PX`), which the PhotoInput then holds."""
    from .landmarks import detect_face
    from .matting import foreground_mask
    from .pose import shoulders, torso_yaw

    timer = timer or (lambda stage: contextlib.nullcontext())
    with timer("face landmarks"):
        face = detect_face(rgb, name)
    shape = rgb.shape[:2]
    rgb, face = working_copy(rgb, face, max_face_px)
    scaled = rgb.shape[:2] != shape
    if scaled and focal is not None:
        focal *= rgb.shape[1] / shape[1]
    with timer("person mask"):
        mask = foreground_mask(rgb, face)
    yaw = 0.0
    if torso:
        with timer("pose landmarks"):
            yaw = torso_yaw(shoulders(rgb))
    return PhotoInput(rgb, face, mask, focal, yaw, shape if scaled else None)
