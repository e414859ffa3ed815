"""A person's canonical, animatable mesh: the head model with their shape baked in.

Canonical space (as in LAM) is the template with the person's shape applied, zero expression, zero pose.
A :class:`Rig` holds exactly what animation needs: rest vertices, joints (and how expressions move them),
LBS weights, expression bases and pose correctives. It is either a base mesh or a subdivision of one, in
which case it remembers the base rig and the sparse interpolation map from base vertices to its points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .head_model import HeadModel, LandmarkEmbedding
from .lbs import Skinned, blend, skin
from .params import FrameParams
from .subdivision import subdivide


@dataclass(frozen=True, eq=False)
class Rig:
    vertices: np.ndarray        # (N, 3) rest positions, metres
    faces: np.ndarray           # (F, 3)
    joints: np.ndarray          # (J, 3) rest joint positions
    joint_exprdirs: np.ndarray  # (J, 3, K) how expressions move the joints (FLAME regresses joints after them)
    parents: tuple[int, ...]
    joint_names: tuple[str, ...]
    lbs_weights: np.ndarray     # (N, J)
    exprdirs: np.ndarray        # (N, 3, K)
    posedirs: np.ndarray        # (N, 3, (J-1)*9)
    expr_names: tuple[str, ...]
    landmarks: LandmarkEmbedding | None = None  # on this rig's faces
    base: "Rig | None" = None                   # the base-mesh rig this one subdivides
    interp: sp.csr_matrix | None = None         # (N, base N): points = interp @ base vertices
    source: str = ""                            # which head model it came from

    @property
    def n_points(self) -> int:
        return self.vertices.shape[0]

    @property
    def n_expr(self) -> int:
        return self.exprdirs.shape[2]

    @property
    def n_joints(self) -> int:
        return len(self.parents)

    @property
    def base_rig(self) -> "Rig":
        """The base-mesh rig (itself if not subdivided)."""
        return self.base if self.base is not None else self

    @classmethod
    def from_head_model(cls, model: HeadModel, shape: np.ndarray | None = None) -> "Rig":
        """Bake ``shape`` (S,) (zero if None) into the model's template: the canonical rig of one person."""
        v = model.v_template.astype(np.float64)
        if shape is not None:
            shape = np.asarray(shape, dtype=np.float64).reshape(-1)
            if shape.size > model.n_shape:
                raise ValueError(f"{shape.size} shape parameters for a model with {model.n_shape}")
            v = v + model.shapedirs[:, :, : shape.size].astype(np.float64) @ shape
        jr = model.j_regressor.astype(np.float64)
        k = model.n_expr
        joint_exprdirs = (jr @ model.exprdirs.reshape(model.n_vertices, 3 * k)).reshape(-1, 3, k)
        return cls(
            vertices=v.astype(np.float32),
            faces=model.faces,
            joints=(jr @ v).astype(np.float32),
            joint_exprdirs=joint_exprdirs.astype(np.float32),
            parents=model.parents,
            joint_names=model.joint_names,
            lbs_weights=model.lbs_weights,
            exprdirs=model.exprdirs,
            posedirs=model.posedirs,
            expr_names=model.expr_names,
            landmarks=model.landmarks,
            source=model.name,
        )

    def subdivide(self, levels: int = 1) -> "Rig":
        """Midpoint-subdivide ``levels`` times; per-point quantities are interpolated from this rig."""
        sub = subdivide(self.faces, self.n_points, levels)
        lm = None if self.landmarks is None else self.landmarks.subdivided(len(self.faces), levels)
        interp = sub.interp if self.base is None else (sub.interp @ self.interp).tocsr()
        return Rig(
            vertices=sub.apply(self.vertices),
            faces=sub.faces,
            joints=self.joints,
            joint_exprdirs=self.joint_exprdirs,
            parents=self.parents,
            joint_names=self.joint_names,
            lbs_weights=sub.apply(self.lbs_weights),
            exprdirs=sub.apply(self.exprdirs),
            posedirs=sub.apply(self.posedirs),
            expr_names=self.expr_names,
            landmarks=lm,
            base=self.base_rig,
            interp=interp,
            source=self.source,
        )

    def torch_buffers(self) -> dict[str, torch.Tensor]:
        cache = self.__dict__.get("_torch")
        if cache is None:
            keys = ("vertices", "joints", "joint_exprdirs", "lbs_weights", "exprdirs", "posedirs")
            cache = {k: torch.from_numpy(np.ascontiguousarray(getattr(self, k), dtype=np.float32)) for k in keys}
            object.__setattr__(self, "_torch", cache)
        return cache

    def check_params(self, params: FrameParams) -> None:
        if params.expr.shape[1] != self.n_expr or params.pose.shape[1] != self.n_joints:
            raise ValueError(f"parameters have {params.expr.shape[1]} expression channels and "
                             f"{params.pose.shape[1]} joints; the rig has {self.n_expr} and {self.n_joints}")

    def deform(self, params: FrameParams, offsets: torch.Tensor | None = None) -> Skinned:
        """Pose the rig: expression blendshapes, pose correctives, LBS, translation. ``offsets`` (N, 3)
        are canonical displacements added to the rest points first (the Gaussians' offsets)."""
        self.check_params(params)
        t = self.torch_buffers()
        b = params.batch
        v = t["vertices"] if offsets is None else t["vertices"] + offsets
        v = v.expand(b, -1, -1) + blend(t["exprdirs"], params.expr)
        joints = t["joints"].expand(b, -1, -1) + blend(t["joint_exprdirs"], params.expr)
        return skin(v, joints, params.pose, t["posedirs"], t["lbs_weights"], self.parents, params.translation)
