"""Linear blend skinning with blendshapes and pose correctives, as FLAME defines it (batched torch).

    v_shaped  = rest + sum_k c_k * dirs_k                  (shape and/or expression blendshapes)
    J         = joints of v_shaped                         (regressor, or rest joints + their blendshape part)
    R_j       = rodrigues(pose_j)                          (pose: [global, neck, jaw, eye_l, eye_r] axis-angle)
    v_posed   = v_shaped + posedirs . vec(R_1.. - I)       (36 pose correctives for FLAME)
    G_j       = G_parent(j) * [R_j | J_j - J_parent(j)]    (forward kinematics)
    A_j       = G_j * [I | -J_j]                           (rest pose removed)
    v         = sum_j w_j A_j v_posed + translation

:func:`lbs` is that composition, the only one: `HeadModel.forward`, `Rig.deform` and `RigPoints.deform` (which
carries the corrected base mesh to its points before skinning) all pose through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .rotations import axis_angle_to_matrix


@dataclass
class Skinned:
    vertices: Tensor     # (B, V, 3) posed vertices (translation included)
    joints: Tensor       # (B, J, 3) posed joint positions (translation included)
    transforms: Tensor   # (B, J, 4, 4) A_j: rest -> posed, translation included
    rotations: Tensor    # (B, J, 3, 3) world rotation of each joint


def blend(dirs: Tensor, coeffs: Tensor) -> Tensor:
    """Blendshape offsets: dirs (V, 3, K) and coeffs (B, K) -> (B, V, 3)."""
    v, c, k = dirs.shape
    if k == 0:
        return coeffs.new_zeros(coeffs.shape[0], v, c)
    return (coeffs @ dirs.reshape(v * c, k).T).reshape(coeffs.shape[0], v, c)


def pose_feature(rotations: Tensor) -> Tensor:
    """FLAME's pose-corrective input: (B, J, 3, 3) -> (B, (J-1)*9) = vec(R_j - I) for the non-root joints."""
    eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
    return (rotations[:, 1:] - eye).reshape(rotations.shape[0], -1)


def forward_kinematics(rotations: Tensor, joints: Tensor, parents: Sequence[int]) -> tuple[Tensor, Tensor]:
    """World transforms of a kinematic tree.

    rotations (B, J, 3, 3) local rotations, joints (B, J, 3) rest joint positions, parents[j] < j (root -1).
    Returns (posed joints (B, J, 3), A (B, J, 4, 4) with the rest pose removed).
    """
    b, j = joints.shape[:2]
    rel = joints.clone()
    for i in range(1, j):
        rel[:, i] = joints[:, i] - joints[:, parents[i]]
    local = torch.zeros(b, j, 4, 4, dtype=joints.dtype, device=joints.device)
    local[:, :, :3, :3] = rotations
    local[:, :, :3, 3] = rel
    local[:, :, 3, 3] = 1.0
    chain = [local[:, 0]]
    for i in range(1, j):
        chain.append(chain[parents[i]] @ local[:, i])
    world = torch.stack(chain, 1)
    posed_joints = world[:, :, :3, 3]
    a = world.clone()
    a[:, :, :3, 3] = posed_joints - (world[:, :, :3, :3] @ joints[..., None])[..., 0]
    return posed_joints, a


def corrected(v: Tensor, rotations: Tensor, posedirs: Tensor | None) -> Tensor:
    """Add FLAME's pose correctives: v (B, V, 3) + posedirs (V, 3, (J-1)*9) . vec(R_j - I)."""
    if posedirs is None or posedirs.shape[-1] == 0:
        return v
    return v + blend(posedirs, pose_feature(rotations))


def blended_rotations(weights: np.ndarray, rotations: Tensor) -> np.ndarray:
    """Each point's skinning-weighted blend of its joints' rotations (not re-orthonormalised, as LBS applies
    it): weights (V, J) and rotations (J, 3, 3) posed joint rotations -> (V, 3, 3) float64 numpy."""
    r = torch.as_tensor(rotations).reshape(rotations.shape[0], 9).to(torch.float64)
    return (torch.as_tensor(weights, dtype=torch.float64) @ r).reshape(-1, 3, 3).numpy()


def skin(
    v_posed: Tensor,
    joints: Tensor,
    rotations: Tensor,
    weights: Tensor,
    parents: Sequence[int],
    translation: Tensor | None = None,
) -> Skinned:
    """LBS of points that already carry their blendshapes and pose correctives.

    v_posed (B, V, 3), joints (B, J, 3) rest joints, rotations (B, J, 3, 3) local joint rotations,
    weights (V, J), translation (B, 3) or None.
    """
    posed_joints, a = forward_kinematics(rotations, joints, parents)
    if translation is not None:
        a = a.clone()
        a[:, :, :3, 3] = a[:, :, :3, 3] + translation[:, None, :]
        posed_joints = posed_joints + translation[:, None, :]
    b, nj = a.shape[:2]
    t = (weights @ a[:, :, :3, :].reshape(b, nj, 12)).reshape(b, -1, 3, 4)  # (B, V, 3, 4) blended transforms
    verts = (t[..., :3] @ v_posed[..., None])[..., 0] + t[..., 3]
    return Skinned(vertices=verts, joints=posed_joints, transforms=a, rotations=a[:, :, :3, :3])


def lbs(
    v_shaped: Tensor,
    joints: Tensor,
    pose: Tensor,
    posedirs: Tensor | None,
    weights: Tensor,
    parents: Sequence[int],
    translation: Tensor | None = None,
    to_points: Callable[[Tensor], Tensor] | None = None,
) -> Skinned:
    """The one composition of FLAME's animation (every head model, rig and set of rig points poses through it).

    v_shaped (B, V, 3) the base mesh with its blendshapes, joints (B, J, 3) its rest joints, pose (B, J, 3)
    axis-angle; pose correctives are added on the base mesh, then ``to_points`` (if given) carries the base
    mesh to the points that are skinned (an interpolation, plus offsets), with ``weights`` (points, J).
    """
    rotations = axis_angle_to_matrix(pose)
    v = corrected(v_shaped, rotations, posedirs)
    if to_points is not None:
        v = to_points(v)
    return skin(v, joints, rotations, weights, parents, translation)
