"""The person's shoulders in a photo, from MediaPipe's pose landmarks, and the torso's turn they show.

MediaPipe's legacy pose solution (BlazePose GHUM 3D; ``pose_landmark_full.tflite`` ships in the wheel, so it
works offline) gives 33 body landmarks twice:

- ``pose_landmarks``: x and y normalised by the image's width and height, a ``visibility`` in [0, 1] (the
  likelihood that the landmark is in the image and not occluded) and z, which its documentation (the legacy
  ``solutions/pose.md``) defines as "the landmark depth with the depth at the midpoint of hips being the
  origin, and the smaller the value the closer the landmark is to the camera. The magnitude of z uses roughly
  the same scale as x": a relative depth in units of the image's width, not metres, which the documentation
  (and ML Kit's, for the same model) calls less accurate than x and y;
- ``pose_world_landmarks``: the same points in metres, origin at the hips' centre, axes along the camera's.

The torso's turn is atan2 of the shoulders' depth difference against their horizontal distance, taken from the
world landmarks. Measured (benchmarks/bench_torso_yaw.py) on renders of a real LAM avatar whose bust faces the
camera, turned by a known angle: the image z's turn was off by 17 degrees at 0 and by up to 20 elsewhere and
jumped between neighbouring angles, the world landmarks' was 0 at 0, had the right sign from -40 to 40 degrees
and about half the true size. Both are MediaPipe's guesses from one picture; the world one is the steadier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._mediapipe import pose, quiet_stderr

LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12   # the person's own left and right
MIN_VISIBILITY = 0.5
MAX_TORSO_YAW = np.radians(50.0)          # beyond this a front photo cannot say much about the body's depth


@dataclass(frozen=True)
class Shoulders:
    """The two shoulders: pixels x (right), y (down) and MediaPipe's relative depth z scaled like x (pixels;
    smaller = nearer the camera); the same in metres from the world landmarks; their visibilities."""

    left: np.ndarray     # (3,) the person's left shoulder (on the image's right when they face the camera)
    right: np.ndarray    # (3,)
    left_m: np.ndarray   # (3,) world landmarks, metres: x right, y down, z away from the camera
    right_m: np.ndarray  # (3,)
    visibility: tuple[float, float]  # (left, right)

    @property
    def yaw(self) -> float:
        """The shoulder line's turn about the camera's vertical axis, radians: the angle between the image
        plane and the line from the right shoulder to the left in the camera's x-z plane (world landmarks),
        positive when the shoulder on the image's right is farther from the camera. 0 when the shoulders are
        not in the order a person facing the camera shows."""
        d = self.left_m - self.right_m
        if d[0] <= 0:
            return 0.0
        return float(np.arctan2(d[2], d[0]))


def shoulders(rgb: np.ndarray) -> Shoulders | None:
    """Both shoulders of the most prominent person in ``rgb`` (H, W, 3 uint8), or None when MediaPipe finds
    no person or either shoulder is outside the photo or not visible enough."""
    h, w = rgb.shape[:2]
    with quiet_stderr():
        result = pose().process(np.ascontiguousarray(rgb))
    if result.pose_landmarks is None or result.pose_world_landmarks is None:
        return None
    lm, world = result.pose_landmarks.landmark, result.pose_world_landmarks.landmark
    if len(lm) <= RIGHT_SHOULDER or len(world) <= RIGHT_SHOULDER:
        return None
    for i in (LEFT_SHOULDER, RIGHT_SHOULDER):
        p = lm[i]
        if not (p.visibility >= MIN_VISIBILITY and 0.0 <= p.x <= 1.0 and 0.0 <= p.y <= 1.0):
            return None

    def px(i: int) -> np.ndarray:
        return np.array([lm[i].x * w, lm[i].y * h, lm[i].z * w], np.float64)

    def metres(i: int) -> np.ndarray:
        return np.array([world[i].x, world[i].y, world[i].z], np.float64)

    return Shoulders(px(LEFT_SHOULDER), px(RIGHT_SHOULDER), metres(LEFT_SHOULDER), metres(RIGHT_SHOULDER),
                     (float(lm[LEFT_SHOULDER].visibility), float(lm[RIGHT_SHOULDER].visibility)))


def torso_yaw(found: Shoulders | None) -> float:
    """The body's turn for the bust (radians, as :attr:`Shoulders.yaw`), within +-MAX_TORSO_YAW; 0 when no
    shoulders were found."""
    if found is None:
        return 0.0
    return float(np.clip(found.yaw, -MAX_TORSO_YAW, MAX_TORSO_YAW))
