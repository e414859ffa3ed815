"""Per-frame animation parameters of a rig, batched: what a motion or the webcam solver produces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor


@dataclass
class FrameParams:
    """B frames of: expression channel values (B, K), joint rotations (B, J, 3) axis-angle in the rig's own
    joint order (``rig.joint_names``: find a joint by name, never by position), translation (B, 3) metres."""

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

    def __getitem__(self, idx: int | slice) -> "FrameParams":
        sl = slice(idx, idx + 1) if isinstance(idx, int) else idx
        return FrameParams(self.expr[sl], self.pose[sl], self.translation[sl])

    def to(self, *args, **kwargs) -> "FrameParams":
        return FrameParams(self.expr.to(*args, **kwargs), self.pose.to(*args, **kwargs),
                           self.translation.to(*args, **kwargs))


def map_joints(pose: np.ndarray, from_names: Sequence[str], to_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Joint rotations (T, len(from_names), 3) moved by name onto the joints ``to_names`` (T, len(to_names), 3,
    float32; joints ``from_names`` lacks stay zero), and the names of the joints ``to_names`` lacks that
    ever turn (their rotations are dropped)."""
    index = {n: i for i, n in enumerate(to_names)}
    out = np.zeros((pose.shape[0], len(to_names), 3), np.float32)
    dropped = []
    for j, name in enumerate(from_names):
        i = index.get(name)
        if i is not None:
            out[:, i] = pose[:, j]
        elif np.any(pose[:, j] != 0):
            dropped.append(name)
    return out, dropped
