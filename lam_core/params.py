"""Per-frame animation parameters of a rig, batched: what a motion or the webcam solver produces."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class FrameParams:
    """B frames of: expression channel values (B, K), joint rotations (B, J, 3) axis-angle in the rig's
    joint order ([global, neck, jaw, eye_l, eye_r] for FLAME-layout rigs), translation (B, 3) metres."""

    expr: Tensor
    pose: Tensor
    translation: Tensor

    def __post_init__(self) -> None:
        b = self.expr.shape[0]
        if self.expr.ndim != 2 or self.pose.ndim != 3 or self.pose.shape[2] != 3 or self.translation.shape != (b, 3) \
                or self.pose.shape[0] != b:
            raise ValueError(f"inconsistent frame parameters: expr {tuple(self.expr.shape)}, "
                             f"pose {tuple(self.pose.shape)}, translation {tuple(self.translation.shape)}")

    @property
    def batch(self) -> int:
        return self.expr.shape[0]

    @classmethod
    def zeros(cls, batch: int, n_expr: int, n_joints: int = 5) -> "FrameParams":
        return cls(torch.zeros(batch, n_expr), torch.zeros(batch, n_joints, 3), torch.zeros(batch, 3))

    @classmethod
    def from_flame(cls, expr: Tensor, rotation: Tensor, neck: Tensor, jaw: Tensor, eyes: Tensor,
                   translation: Tensor) -> "FrameParams":
        """From FLAME/VHAP's keys: expr (B, K), rotation/neck/jaw (B, 3), eyes (B, 6), translation (B, 3)."""
        pose = torch.cat([rotation, neck, jaw, eyes[:, :3], eyes[:, 3:]], 1).reshape(-1, 5, 3)
        return cls(expr, pose, translation)

    def __getitem__(self, idx: int | slice) -> "FrameParams":
        sl = slice(idx, idx + 1) if isinstance(idx, int) else idx
        return FrameParams(self.expr[sl], self.pose[sl], self.translation[sl])

    def to(self, *args, **kwargs) -> "FrameParams":
        return FrameParams(self.expr.to(*args, **kwargs), self.pose.to(*args, **kwargs),
                           self.translation.to(*args, **kwargs))
