"""Canonical 3D Gaussians bound to a rig, and their animation.

Each Gaussian sits on one rig point: canonical centre = rest point + offset. To animate a frame, the centres
go through the rig's expression blendshapes, pose correctives and LBS with the point's weights, and each
Gaussian's rotation is composed with the point's blended LBS rotation (:func:`blend_quaternions`), so
covariances turn with the head, the neck and the jaw. Scales, colours and opacities do not change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .params import FrameParams
from .rig import RigPoints
from .rotations import blend_quaternions, matrix_to_quaternion, quaternion_multiply
from .tensors import ArrayTensors

SH_C0 = 0.28209479177387814


def rgb_to_sh0(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] -> degree-0 spherical-harmonic coefficient (3DGS ``f_dc``)."""
    return (np.asarray(rgb, dtype=np.float32) - 0.5) / SH_C0


def sh0_to_rgb(sh0: np.ndarray) -> np.ndarray:
    return np.asarray(sh0, dtype=np.float32) * SH_C0 + 0.5


@dataclass(frozen=True, eq=False)
class Gaussians:
    """Per-point canonical Gaussian attributes (activated values, float32)."""

    offsets: np.ndarray    # (N, 3) metres, canonical displacement from the rig point
    colors: np.ndarray     # (N, 3) RGB in [0, 1]
    opacities: np.ndarray  # (N,) in [0, 1]
    scales: np.ndarray     # (N, 3) metres (standard deviations along the local axes)
    rotations: np.ndarray  # (N, 4) unit quaternions wxyz
    # the five arrays as torch tensors on any device (lam_core.tensors)
    tensors: ArrayTensors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = self.offsets.shape[0]
        want = {"offsets": (n, 3), "colors": (n, 3), "opacities": (n,), "scales": (n, 3), "rotations": (n, 4)}
        for key, shape in want.items():
            a = getattr(self, key)
            if not isinstance(a, np.ndarray) or a.shape != shape:
                raise ValueError(f"gaussians: {key} has shape {getattr(a, 'shape', None)}, expected {shape}")
            if not np.isfinite(a).all():
                raise ValueError(f"gaussians: {key} contains NaN or infinity")
        object.__setattr__(self, "tensors", ArrayTensors.of(self, *want))

    @property
    def n(self) -> int:
        return self.offsets.shape[0]


@dataclass
class PosedGaussians:
    """Gaussians ready to render: B frames of centres and rotations; per-Gaussian scales, colours, opacities."""

    means: Tensor      # (B, N, 3)
    quats: Tensor      # (B, N, 4) wxyz
    scales: Tensor     # (N, 3)
    colors: Tensor     # (N, 3)
    opacities: Tensor  # (N,)


@dataclass(frozen=True, eq=False)
class GaussianAvatar:
    """Canonical Gaussians, one on each of the rig points."""

    points: RigPoints
    gaussians: Gaussians

    def __post_init__(self) -> None:
        if self.gaussians.n != self.points.n_points:
            raise ValueError(f"{self.gaussians.n} Gaussians for {self.points.n_points} rig points")

    @property
    def rig(self):
        return self.points.rig

    @property
    def n(self) -> int:
        return self.gaussians.n

    def canonical_means(self) -> np.ndarray:
        return self.points.vertices + self.gaussians.offsets

    def animate(self, params: FrameParams, frames_per_chunk: int | None = None) -> PosedGaussians:
        """Pose the Gaussians for every frame of ``params`` (one frame or a batch), on the parameters' device and
        in their dtype."""
        t = self.gaussians.tensors.like(params.expr)
        weights = self.points.tensors.like(params.expr)["lbs_weights"]
        chunk = frames_per_chunk or max(1, 2_000_000 // max(self.n, 1))
        means, quats = [], []
        with torch.no_grad():
            for start in range(0, params.batch, chunk):
                sk = self.points.deform(params[start:start + chunk], offsets=t["offsets"])
                q_lbs = blend_quaternions(weights, matrix_to_quaternion(sk.rotations))
                means.append(sk.vertices)
                quats.append(quaternion_multiply(q_lbs, t["rotations"]))
        return PosedGaussians(
            means=torch.cat(means), quats=torch.cat(quats),
            scales=t["scales"], colors=t["colors"], opacities=t["opacities"],
        )
