"""Rotation helpers in torch, batched over any leading dimensions.

Conventions used across the project (and in the browser viewer): axis-angle vectors in radians, rotation
matrices acting on column vectors, quaternions stored **wxyz** (gsplat's order) and kept unit length.
"""

from __future__ import annotations

import torch
from torch import Tensor


def axis_angle_to_matrix(aa: Tensor) -> Tensor:
    """Rodrigues' formula: (..., 3) axis-angle -> (..., 3, 3) rotation matrices.

    Exact at zero and smooth through it (Taylor terms below 1e-4 rad), so gradients are finite everywhere.
    """
    theta2 = (aa * aa).sum(-1, keepdim=True)
    small = theta2 < 1e-8
    safe2 = torch.where(small, torch.ones_like(theta2), theta2)
    theta = safe2.sqrt()
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)            # sin(t)/t
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / safe2)    # (1-cos t)/t^2
    x, y, z = aa.unbind(-1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*aa.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand_as(k)
    return eye + a[..., None] * k + b[..., None] * (k @ k)


def matrix_to_quaternion(m: Tensor) -> Tensor:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions wxyz with w >= 0 (Shepperd's method)."""
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # four candidate solutions, each well conditioned when its leading component is the largest
    cands = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        -2,
    )
    diag = torch.stack([m00 + m11 + m22, m00, m11, m22], -1)
    diag = diag - torch.stack([torch.zeros_like(m00), m11 + m22, m00 + m22, m00 + m11], -1)
    best = diag.argmax(-1, keepdim=True)
    q = torch.gather(cands, -2, best[..., None].expand(*best.shape, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_to_matrix(q: Tensor) -> Tensor:
    """(..., 4) wxyz quaternions (normalised here) -> (..., 3, 3) rotation matrices."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        -1,
    ).reshape(*q.shape[:-1], 3, 3)


def quaternion_multiply(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product a*b of wxyz quaternions (rotation b first, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def blend_quaternions(weights: Tensor, joint_quats: Tensor) -> Tensor:
    """Per-point rotation of linear blend skinning, as a unit quaternion.

    ``weights``: (N, J) skinning weights; ``joint_quats``: (B, J, 4) world rotations of the joints.
    Each joint's quaternion is first put in the same hemisphere as the root's, then the weighted sum is
    normalised (the rotation part of dual-quaternion skinning). Returns (B, N, 4).
    This exact rule is part of the .lam specification: the browser viewer does the same.
    """
    sign = torch.where((joint_quats * joint_quats[:, :1]).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    q = weights @ (joint_quats * sign)  # (B, N, 4) by broadcasting (N,J) @ (B,J,4)
    return q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
