"""MediaPipe's 478 face landmarks (468 face mesh + 10 iris) on a photo.

Ordinary photos (a face of a few percent of a landscape picture) are beyond the face mesh's own short-range
detector, so the full-range face detector finds the faces first, and the face mesh runs on a square crop
around the largest one; the landmarks are mapped back to the photo. When the detector finds nothing the face
mesh gets the whole photo, as a second chance.

Coordinates are returned in pixels: x right, y down, and z MediaPipe's relative depth scaled like x
(smaller = closer to the camera). Several faces: the largest is used and the caller is told.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ._mediapipe import face_detector, face_mesh, quiet_stderr
from .image import PhotoError

N_LANDMARKS = 478
MIN_FACE_PX = 48          # landmark bounding-box height
LEFT_EYE_CORNERS = (263, 362)   # subject's left eye, outer and inner corners
RIGHT_EYE_CORNERS = (33, 133)
CROP_FACTOR = 2.2         # crop side / the detector's box side: the whole head and some margin
CROP_MIN_PX = 256         # crops smaller than this are enlarged (the face mesh works on ~192 px)


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


def face_boxes(rgb: np.ndarray) -> list[np.ndarray]:
    """The full-range detector's faces as pixel boxes [x0, y0, x1, y1], largest first."""
    h, w = rgb.shape[:2]
    with quiet_stderr():
        result = face_detector().process(np.ascontiguousarray(rgb))
    boxes = []
    for det in result.detections or []:
        b = det.location_data.relative_bounding_box
        boxes.append(np.array([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h]))
    return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def _mesh(rgb: np.ndarray) -> list[np.ndarray]:
    """The face mesh's faces in ``rgb``, each (478, 3) in its pixels."""
    h, w = rgb.shape[:2]
    with quiet_stderr():
        result = face_mesh().process(np.ascontiguousarray(rgb))
    return [np.array([[p.x * w, p.y * h, p.z * w] for p in f.landmark], dtype=np.float64)
            for f in result.multi_face_landmarks or []]


def _crop_around(rgb: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """A square crop centred on ``box`` (padded with black past the photo's edges), scaled to at least
    CROP_MIN_PX, and how to map its pixels back: photo = offset + crop / scale."""
    h, w = rgb.shape[:2]
    side = int(np.ceil(CROP_FACTOR * max(box[2] - box[0], box[3] - box[1])))
    side = max(side, 8)
    x0 = int(round((box[0] + box[2]) / 2 - side / 2))
    y0 = int(round((box[1] + box[3]) / 2 - side / 2))
    crop = np.zeros((side, side, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if sx1 > sx0 and sy1 > sy0:
        crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    scale = 1.0
    if side < CROP_MIN_PX:
        scale = CROP_MIN_PX / side
        crop = np.asarray(Image.fromarray(crop).resize((CROP_MIN_PX, CROP_MIN_PX), Image.BICUBIC))
    return crop, float(x0), float(y0), scale


def _largest(arrays: list[np.ndarray]) -> np.ndarray:
    areas = [np.ptp(a[:468, 0]) * np.ptp(a[:468, 1]) for a in arrays]
    return arrays[int(np.argmax(areas))]


def detect_face(rgb: np.ndarray, name: str = "photo") -> FaceLandmarks:
    """The largest face's landmarks; PhotoError if there is none or it is too small."""
    h, w = rgb.shape[:2]
    boxes = face_boxes(rgb)
    best = None
    for box in boxes[:1]:
        crop, x0, y0, scale = _crop_around(rgb, box)
        found = _mesh(crop)
        if found:
            # the face nearest the crop's centre is the detector's
            c = np.array(crop.shape[1::-1]) / 2
            pts = min(found, key=lambda a: np.linalg.norm(a[:468, :2].mean(0) - c))
            best = pts / scale + np.array([x0, y0, 0.0])
    n_faces = len(boxes)
    if best is None:  # the detector missed it (or the mesh did not agree): the face mesh on the whole photo
        found = _mesh(rgb)
        if not found:
            raise PhotoError(f"no face found in {name}")
        best = _largest(found)
        n_faces = max(n_faces, len(found))
    if best.shape != (N_LANDMARKS, 3):
        raise PhotoError(f"{name}: MediaPipe returned {best.shape[0]} landmarks, expected {N_LANDMARKS}")
    lm = FaceLandmarks(points=best, n_faces=n_faces, image_size=(w, h))
    if lm.height_px < MIN_FACE_PX:
        raise PhotoError(f"the face in {name} is too small ({lm.height_px:.0f} px tall; need at least "
                         f"{MIN_FACE_PX} px)")
    return lm
