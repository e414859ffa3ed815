"""MediaPipe's 478 face landmarks (468 face mesh + 10 iris) on a photo.

Coordinates are returned in pixels: x right, y down, and z MediaPipe's relative depth scaled like x
(smaller = closer to the camera). Several faces: the largest is used and the caller is told.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._mediapipe import face_mesh, quiet_stderr
from .image import PhotoError

N_LANDMARKS = 478
MIN_FACE_PX = 48          # landmark bounding-box height
LEFT_EYE_CORNERS = (263, 362)   # subject's left eye, outer and inner corners
RIGHT_EYE_CORNERS = (33, 133)


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    points: np.ndarray   # (478, 3) float64 pixels (x, y, z)
    n_faces: int         # faces MediaPipe found (the largest is in ``points``)
    image_size: tuple[int, int]  # (width, height)

    @property
    def height_px(self) -> float:
        return float(np.ptp(self.points[:468, 1]))

    @property
    def interocular_px(self) -> float:
        """Distance between the eye centres (mean of each eye's corners), pixels."""
        left = self.points[list(LEFT_EYE_CORNERS), :2].mean(0)
        right = self.points[list(RIGHT_EYE_CORNERS), :2].mean(0)
        return float(np.linalg.norm(left - right))


def detect_face(rgb: np.ndarray, name: str = "photo") -> FaceLandmarks:
    """The largest face's landmarks; PhotoError if there is none or it is too small."""
    h, w = rgb.shape[:2]
    with quiet_stderr():
        result = face_mesh().process(np.ascontiguousarray(rgb))
    faces = result.multi_face_landmarks or []
    if not faces:
        raise PhotoError(f"no face found in {name}")
    arrays = [np.array([[p.x * w, p.y * h, p.z * w] for p in f.landmark], dtype=np.float64) for f in faces]
    areas = [np.ptp(a[:468, 0]) * np.ptp(a[:468, 1]) for a in arrays]
    best = arrays[int(np.argmax(areas))]
    if best.shape != (N_LANDMARKS, 3):
        raise PhotoError(f"{name}: MediaPipe returned {best.shape[0]} landmarks, expected {N_LANDMARKS}")
    lm = FaceLandmarks(points=best, n_faces=len(faces), image_size=(w, h))
    if lm.height_px < MIN_FACE_PX:
        raise PhotoError(f"the face in {name} is too small ({lm.height_px:.0f} px tall; need at least "
                         f"{MIN_FACE_PX} px)")
    return lm
