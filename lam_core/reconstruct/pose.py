"""Head pose and camera from MediaPipe landmarks.

MediaPipe gives landmarks in pixels (x right, y down) with a relative depth z on the same scale (larger =
farther). Up to a scale that is a weak-perspective view of the head: ``q = s R p + t`` for head-frame points p
(metres, y up, z towards the viewer) with R a rotation into OpenCV camera axes (x right, y down, z forward).
A weighted similarity Procrustes finds (s, R, t); a perspective camera with a chosen focal length that
reproduces the same image near the head follows from it (depth d = f / s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..camera import Camera

# Portrait photos come from all kinds of lenses and the landmarks cannot tell them apart (they are weak
# perspective); a long lens keeps perspective effects small: vertical field of view ~ 2 atan(1/2.5) = 44 deg
# for a square photo at this factor 1.25 of the larger side.
FOCAL_FACTOR = 1.25


@dataclass(frozen=True)
class Similarity:
    scale: float          # pixels per metre at the head
    rotation: np.ndarray  # (3, 3) head frame -> camera axes
    translation: np.ndarray  # (3,) pixels (x, y) and depth units

    def apply(self, p: np.ndarray) -> np.ndarray:
        return self.scale * p @ self.rotation.T + self.translation

    def invert(self, q: np.ndarray) -> np.ndarray:
        """Image-space points back into the head frame (metres)."""
        return (q - self.translation) @ self.rotation / self.scale


def similarity_procrustes(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> Similarity:
    """argmin over (s, R proper rotation, t) of sum_i w_i |s R src_i + t - dst_i|^2 (Umeyama's method)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s, mu_d = w @ src, w @ dst
    a, b = src - mu_s, dst - mu_d
    cov = (b * w[:, None]).T @ a
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag(d) @ vt
    var = (w * (a * a).sum(1)).sum()
    scale = float((sig * d).sum() / var)
    return Similarity(scale, rot, mu_d - scale * rot @ mu_s)


def photo_camera(sim: Similarity, width: int, height: int, anchor: np.ndarray,
                 focal: float | None = None) -> Camera:
    """The perspective camera (world = head frame) that sees the head as ``sim`` does near ``anchor``
    (a head-frame point, e.g. the landmarks' centroid): same pixel scale, rotation and image position there."""
    f = float(focal) if focal else FOCAL_FACTOR * max(width, height)
    cx, cy = width / 2.0, height / 2.0
    depth = f / sim.scale
    t = np.array([(sim.translation[0] - cx) / sim.scale, (sim.translation[1] - cy) / sim.scale, 0.0])
    t[2] = depth - (sim.rotation @ anchor)[2]
    m = np.eye(4)
    m[:3, :3] = sim.rotation
    m[:3, 3] = t
    return Camera(width, height, f, f, cx, cy, world_to_camera=m)
