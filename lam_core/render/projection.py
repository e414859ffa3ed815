"""EWA projection of 3D Gaussians to the image, as gsplat 1.5 does it (``fully_fused_projection``, pinhole,
classic mode, ``packed=False``), in float32 torch, vectorised over the Gaussians.

Per Gaussian, with the camera's ``R, t`` (world -> camera) and ``fx, fy, cx, cy``:

1. ``p = R @ mean + t``; culled when ``p.z < near`` or ``p.z > far``.
2. ``Sigma = M M^T`` with ``M = rotmat(normalised wxyz quat) @ diag(scales)``; camera space ``R Sigma R^T``.
3. Jacobian of the perspective projection at ``p``, with ``x/z`` and ``y/z`` clamped to the image's extent plus
   30 % of its half-size on each side (``lim_x = (W - cx)/fx + 0.3 * W/(2 fx)`` on the right,
   ``cx/fx + 0.3 * W/(2 fx)`` on the left, the same in y):
   ``J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]]``; ``cov2d = J Sigma_cam J^T``.
   The centre itself is not clamped: ``mean2d = (fx x/z + cx, fy y/z + cy)``.
4. ``cov2d += eps2d * I`` (0.3; classic mode: no opacity compensation); culled when its determinant <= 0;
   ``conic = inverse(cov2d)`` stored as (a, b, c) = ([0,0], [0,1], [1,1]).
5. Opacity-aware radius (gsplat 1.5, after arXiv 2402.00525): culled when ``opacity < 1/255``; else
   ``extend = min(3.33, sqrt(2 ln(opacity * 255)))`` and ``radius_x = ceil(extend * sqrt(cov2d[0,0]))``,
   ``radius_y = ceil(extend * sqrt(cov2d[1,1]))`` (integers).
6. Culled when the box ``mean2d +- radius`` lies wholly outside the image (``x + rx <= 0``, ``x - rx >= W``, ...).

Gaussians whose numbers are not finite (a zero quaternion, NaN input) are culled too; gsplat leaves those
undefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..rotations import quaternion_to_matrix

ALPHA_THRESHOLD = 1.0 / 255.0
EPS2D = 0.3
MAX_EXTEND = 3.33
NEAR_PLANE = 0.01
FAR_PLANE = 1e10


@dataclass
class Projected:
    """Per-Gaussian screen-space quantities; entries where ``visible`` is False are meaningless."""

    means2d: Tensor   # (N, 2) pixels
    conics: Tensor    # (N, 3) inverse 2D covariance (a, b, c)
    depths: Tensor    # (N,) camera-space z
    radii: Tensor     # (N, 2) int32 pixels (0 where culled)
    visible: Tensor   # (N,) bool


def project_gaussians(means: Tensor, quats: Tensor, scales: Tensor, opacities: Tensor, viewmat: Tensor,
                      K: Tensor, width: int, height: int, near_plane: float = NEAR_PLANE,
                      far_plane: float = FAR_PLANE, eps2d: float = EPS2D) -> Projected:
    """Project N Gaussians (float32 tensors) with a 4x4 world->camera ``viewmat`` and 3x3 ``K``."""
    R, t = viewmat[:3, :3], viewmat[:3, 3]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    p = means @ R.T + t
    x, y, z = p.unbind(-1)
    visible = (z >= near_plane) & (z <= far_plane)

    rot = quaternion_to_matrix(quats)
    m = rot * scales[:, None, :]                      # R_q @ diag(s)
    cov_c = R @ (m @ m.transpose(1, 2)) @ R.T         # (N, 3, 3)

    tan_fovx = 0.5 * width / fx
    tan_fovy = 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    rz = 1.0 / z
    rz2 = rz * rz
    tx = z * torch.minimum(lim_x_pos, torch.maximum(-lim_x_neg, x * rz))
    ty = z * torch.minimum(lim_y_pos, torch.maximum(-lim_y_neg, y * rz))
    zero = torch.zeros_like(z)
    J = torch.stack([fx * rz, zero, -fx * tx * rz2, zero, fy * rz, -fy * ty * rz2], -1).reshape(-1, 2, 3)
    cov2d = J @ cov_c @ J.transpose(1, 2)
    mean2d = torch.stack([fx * x * rz + cx, fy * y * rz + cy], -1)

    a = cov2d[:, 0, 0] + eps2d
    b = cov2d[:, 0, 1]
    c = cov2d[:, 1, 1] + eps2d
    det = a * c - b * b
    visible &= det > 0
    inv_det = 1.0 / det
    conics = torch.stack([c * inv_det, -b * inv_det, a * inv_det], -1)

    visible &= opacities >= ALPHA_THRESHOLD
    extend = opacity_extent(opacities)
    rx = torch.ceil(extend * torch.sqrt(a))
    ry = torch.ceil(extend * torch.sqrt(c))
    visible &= (rx > 0) | (ry > 0)
    mx, my = mean2d.unbind(-1)
    visible &= ~((mx + rx <= 0) | (mx - rx >= width) | (my + ry <= 0) | (my - ry >= height))
    finite = torch.isfinite(mean2d).all(-1) & torch.isfinite(conics).all(-1) & torch.isfinite(rx) & torch.isfinite(ry)
    visible &= finite
    radii = torch.where(visible[:, None], torch.stack([rx, ry], -1), torch.zeros_like(mean2d)).to(torch.int32)
    return Projected(mean2d, conics, z, radii, visible)


def intrinsics_tensors(camera, device=None) -> tuple[Tensor, Tensor]:
    """A :class:`~lam_core.camera.Camera`'s (viewmat 4x4, K 3x3) as float32 tensors."""
    viewmat = torch.tensor(camera.world_to_camera, dtype=torch.float32, device=device)
    K = torch.tensor(camera.K(), dtype=torch.float32, device=device)
    return viewmat, K


def opacity_extent(opacities: Tensor) -> Tensor:
    """How far (in standard deviations) each Gaussian can reach alpha >= 1/255: sqrt(2 ln(opacity * 255)),
    at most MAX_EXTEND."""
    return torch.clamp_max(torch.sqrt(2.0 * torch.log(opacities.clamp_min(ALPHA_THRESHOLD) / ALPHA_THRESHOLD)),
                           MAX_EXTEND)
