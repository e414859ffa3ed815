"""Pinhole cameras in OpenCV convention, shared by the reference renderer and the browser viewer.

Conventions (the browser viewer reproduces them exactly, so that its pixels can be compared with ours):

* **World space** is the avatar's: metres, y up, the head looks along +z, the subject's left at +x (FLAME's axes).
* **Camera space** (OpenCV): x right, y down, z forward; the camera looks along +z. ``world_to_camera`` is a 4x4
  float64 matrix acting on column vectors: ``p_cam = R @ p_world + t`` with ``R = world_to_camera[:3, :3]``,
  ``t = world_to_camera[:3, 3]``; its last row is ``[0, 0, 0, 1]``.
* **Projection**: a point at camera coordinates (x, y, z) lands at pixel coordinates
  ``u = fx * x / z + cx``, ``v = fy * y / z + cy`` (u to the right, v down). The principal point (cx, cy) is in
  pixels measured from the image's top-left *corner*. Pixel (row i, column j) covers [j, j+1) x [i, i+1) and is
  sampled at its centre ``(j + 0.5, i + 0.5)``. A centred camera has ``cx = width / 2``, ``cy = height / 2``.
  Row 0 is the top of the image.
* **Field of view**: ``fov_deg`` is always the *vertical* full angle; ``fy = (height / 2) / tan(fov / 2)`` and
  pixels are square (``fx = fy``).
* **look_at / orbit**: the camera's right is ``normalize(cross(forward, up))`` and its down axis
  ``cross(forward, right)``, so with the default up (0, 1, 0) the image is upright. ``orbit`` puts the eye at
  ``target + distance * (sin(yaw) cos(pitch), sin(pitch), cos(yaw) cos(pitch))``: yaw 0, pitch 0 is in front of
  the face (on +z), positive yaw turns the camera towards the subject's left (+x), positive pitch raises it.

Near/far clipping is the renderer's business (:mod:`lam_core.render`), not the camera's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DEFAULT_FOV_DEG = 25.0
FRAMING_MARGIN = 1.05  # the avatar's bounding sphere fills 1 / FRAMING_MARGIN of the vertical field of view


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera: image size in pixels, intrinsics in pixels, OpenCV extrinsics (see the module doc)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    world_to_camera: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        for key in ("width", "height"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= 16384:
                raise ValueError(f"camera: {key} must be an integer in [1, 16384], got {v!r}")
            object.__setattr__(self, key, int(v))
        for key in ("fx", "fy", "cx", "cy"):
            v = float(getattr(self, key))
            if not math.isfinite(v) or (key in ("fx", "fy") and v <= 0):
                raise ValueError(f"camera: {key} must be finite{' and positive' if key in ('fx', 'fy') else ''}, "
                                 f"got {v}")
            object.__setattr__(self, key, v)
        m = np.array(self.world_to_camera, dtype=np.float64)
        if m.shape != (4, 4) or not np.isfinite(m).all() or not np.array_equal(m[3], [0.0, 0.0, 0.0, 1.0]):
            raise ValueError("camera: world_to_camera must be a finite 4x4 matrix with last row [0, 0, 0, 1]")
        m.setflags(write=False)
        object.__setattr__(self, "world_to_camera", m)

    # ------------------------------------------------------------------------------------------- matrices

    def K(self) -> np.ndarray:
        """The 3x3 intrinsic matrix (float64)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def camera_to_world(self) -> np.ndarray:
        return np.linalg.inv(self.world_to_camera)

    @property
    def position(self) -> np.ndarray:
        """The camera centre in world coordinates."""
        return self.camera_to_world[:3, 3].copy()

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> pixel coordinates (..., 2) and camera-space depth, as (..., 3) [u, v, z]."""
        p = np.asarray(points, dtype=np.float64)
        c = p @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3]
        z = c[..., 2]
        return np.stack([self.fx * c[..., 0] / z + self.cx, self.fy * c[..., 1] / z + self.cy, z], -1)

    # ------------------------------------------------------------------------------------------- builders

    @staticmethod
    def intrinsics_for(fov_deg: float, width: int, height: int) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy) of a centred camera with square pixels and this vertical field of view."""
        if not (math.isfinite(fov_deg) and 0.0 < fov_deg < 180.0):
            raise ValueError(f"camera: fov_deg must be in (0, 180), got {fov_deg}")
        f = 0.5 * height / math.tan(math.radians(fov_deg) / 2.0)
        return f, f, width / 2.0, height / 2.0

    @classmethod
    def look_at(cls, eye, target, up=(0.0, 1.0, 0.0), fov_deg: float = DEFAULT_FOV_DEG,
                width: int = 512, height: int = 512) -> "Camera":
        """A camera at ``eye`` looking at ``target``, ``up`` pointing up in the image."""
        eye = np.asarray(eye, dtype=np.float64).reshape(3)
        target = np.asarray(target, dtype=np.float64).reshape(3)
        up = np.asarray(up, dtype=np.float64).reshape(3)
        forward = target - eye
        norm = np.linalg.norm(forward)
        if not np.isfinite(norm) or norm < 1e-12:
            raise ValueError("camera: eye and target must be distinct finite points")
        forward /= norm
        right = np.cross(forward, up)
        rn = np.linalg.norm(right)
        if rn < 1e-9 * max(np.linalg.norm(up), 1e-300):
            raise ValueError("camera: the viewing direction is parallel to 'up'")
        right /= rn
        down = np.cross(forward, right)
        m = np.eye(4)
        m[:3, :3] = np.stack([right, down, forward])
        m[:3, 3] = -m[:3, :3] @ eye
        return cls(width, height, *cls.intrinsics_for(fov_deg, width, height), world_to_camera=m)

    @classmethod
    def orbit(cls, target, distance: float, yaw_deg: float = 0.0, pitch_deg: float = 0.0,
              fov_deg: float = DEFAULT_FOV_DEG, width: int = 512, height: int = 512) -> "Camera":
        """A camera on a sphere of radius ``distance`` around ``target``, looking at it (see the module doc)."""
        if not (math.isfinite(distance) and distance > 0):
            raise ValueError(f"camera: distance must be positive, got {distance}")
        if not (math.isfinite(pitch_deg) and -90.0 < pitch_deg < 90.0):
            raise ValueError(f"camera: pitch_deg must be in (-90, 90), got {pitch_deg}")
        yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
        direction = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
        target = np.asarray(target, dtype=np.float64).reshape(3)
        return cls.look_at(target + distance * direction, target, (0.0, 1.0, 0.0), fov_deg, width, height)


def bounding_sphere(points) -> tuple[np.ndarray, float]:
    """Centre (the bounding box's centre) and radius of a sphere holding all ``points`` (..., 3)."""
    p = points.detach().cpu().numpy() if hasattr(points, "detach") else np.asarray(points)
    p = p.reshape(-1, 3).astype(np.float64)
    p = p[np.isfinite(p).all(1)]
    if len(p) == 0:
        raise ValueError("camera: no finite points to frame")
    centre = 0.5 * (p.min(0) + p.max(0))
    radius = float(np.sqrt(((p - centre) ** 2).sum(1).max()))
    return centre, max(radius, 1e-6)


def avatar_camera(points_or_means, yaw_deg: float = 0.0, pitch_deg: float = 0.0, size: int = 512,
                  fov_deg: float = DEFAULT_FOV_DEG, height: int | None = None) -> Camera:
    """An orbit camera that frames a head (any (..., 3) points: canonical means, or several posed frames'
    means to keep a moving head in view) so that its bounding sphere fits from every angle: turntables keep
    the same distance. Yaw 0, pitch 0 looks at the face. Image ``size`` x ``height`` (default square)."""
    centre, radius = bounding_sphere(points_or_means)
    width = size
    height = size if height is None else height
    half = math.radians(fov_deg) / 2.0
    if width < height:  # keep the sphere inside the narrower horizontal field of view too
        half = math.atan(math.tan(half) * width / height)
    distance = FRAMING_MARGIN * radius / math.sin(half)
    return Camera.orbit(centre, distance, yaw_deg, pitch_deg, fov_deg, width, height)
