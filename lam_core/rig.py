"""A person's canonical, animatable head, and the points it drives.

Canonical space (as in LAM) is the template with the person's shape applied, zero expression, zero pose.
A :class:`Rig` is that mesh with exactly what animation needs: rest vertices, joints (and how expressions move
them), LBS weights, expression bases and pose correctives, all per base-mesh vertex.

:class:`RigPoints` are points driven by a rig, each a fixed combination of base vertices (``interp``, sparse):
the once- or twice-subdivided mesh on which LAM places its Gaussians, or the mesh itself. Blendshapes and
correctives are linear, so they are applied on the base mesh and then interpolated (what the .lam file and the
browser viewer do too); each point then skins with its interpolated LBS weights. No per-point copy of the
bases is ever made, whatever the number of expression channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
import torch

from .head_model import HeadModel, LandmarkEmbedding
from .lbs import Skinned, blend, lbs
from .params import FrameParams
from .subdivision import subdivide, subdivide_except
from .tensors import ArrayTensors


@dataclass(frozen=True, eq=False)
class Rig:
    vertices: np.ndarray        # (V, 3) rest positions, metres
    faces: np.ndarray           # (F, 3)
    joints: np.ndarray          # (J, 3) rest joint positions
    joint_exprdirs: np.ndarray  # (J, 3, K) how expressions move the joints (FLAME regresses joints after them)
    parents: tuple[int, ...]
    joint_names: tuple[str, ...]
    lbs_weights: np.ndarray     # (V, J)
    exprdirs: np.ndarray        # (V, 3, K)
    posedirs: np.ndarray        # (V, 3, (J-1)*9)
    expr_names: tuple[str, ...]
    landmarks: LandmarkEmbedding | None = None  # on this mesh
    source: str = ""                            # which head model it came from
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # named vertex sets, from the head model
    # the arrays posing needs, as torch tensors on any device (lam_core.tensors); made from the fields above
    tensors: ArrayTensors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tensors", ArrayTensors.of(
            self, "vertices", "joints", "joint_exprdirs", "lbs_weights", "exprdirs", "posedirs"))

    @property
    def n_vertices(self) -> int:
        return self.vertices.shape[0]

    @property
    def n_expr(self) -> int:
        return self.exprdirs.shape[2]

    @property
    def n_joints(self) -> int:
        return len(self.parents)

    @classmethod
    def from_head_model(cls, model: HeadModel, shape: np.ndarray | None = None) -> "Rig":
        """Bake ``shape`` (S,) (zero if None) into the model's template: the canonical rig of one person."""
        v = model.v_template.astype(np.float64)
        if shape is not None:
            shape = np.asarray(shape, dtype=np.float64).reshape(-1)
            if shape.size > model.n_shape:
                raise ValueError(f"{shape.size} shape parameters for a model with {model.n_shape}")
            full = np.zeros(model.n_shape, np.float32)
            full[:shape.size] = shape
            # one float32 product with the whole basis, as a (3V, S) view: no copy of it (the open head's
            # 85 MB basis: fancy-indexing its columns in use cost 0.17 s a call)
            basis = model.shapedirs.reshape(-1, model.n_shape)
            v = v + (basis @ full).reshape(-1, 3).astype(np.float64)
        jr = model.j_regressor.astype(np.float64)
        k = model.n_expr
        used = np.flatnonzero(jr.any(0))  # the regressor reads few vertices: never touch the whole basis
        joint_exprdirs = (jr[:, used] @ model.exprdirs[used].reshape(len(used), 3 * k)).reshape(-1, 3, k)
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
            regions=dict(model.regions),
        )

    def with_part(self, name: str, vertices: np.ndarray, faces: np.ndarray, lbs_weights: np.ndarray) -> "Rig":
        """This rig with a part appended as region ``name`` (the bust's body, the ears): its rest ``vertices``
        (P, 3), ``faces`` (indices into them) and skinning weights (P, J). It carries no expression and no pose
        correctives."""
        n0, n = self.n_vertices, len(vertices)
        regions = dict(self.regions)
        regions[name] = np.arange(n0, n0 + n)
        return replace(
            self,
            vertices=np.concatenate([self.vertices, np.asarray(vertices).astype(self.vertices.dtype)]),
            faces=np.concatenate([self.faces, (np.asarray(faces) + n0).astype(self.faces.dtype)]),
            lbs_weights=np.concatenate([self.lbs_weights, np.asarray(lbs_weights).astype(self.lbs_weights.dtype)]),
            exprdirs=np.concatenate([self.exprdirs, np.zeros((n,) + self.exprdirs.shape[1:], self.exprdirs.dtype)]),
            posedirs=np.concatenate([self.posedirs, np.zeros((n,) + self.posedirs.shape[1:], self.posedirs.dtype)]),
            regions=regions,
        )

    def subdivide(self, levels: int = 1, coarse: np.ndarray | None = None) -> "RigPoints":
        """The points of the mesh midpoint-subdivided ``levels`` times (FLAME: 20,018 once, 79,936 twice);
        with ``coarse`` (V,) bool, the first level splits only the edges of triangles with a vertex not in it
        (:func:`~lam_core.subdivision.subdivide_except`)."""
        if coarse is not None and levels >= 1 and np.any(coarse):
            sub = subdivide_except(self.faces, self.n_vertices, coarse, levels)
        else:
            sub = subdivide(self.faces, self.n_vertices, levels)
        return RigPoints(self, sub.interp, sub.faces)

    def points(self) -> "RigPoints":
        """The mesh's own vertices as rig points."""
        return RigPoints(self, sp.identity(self.n_vertices, format="csr"), self.faces)

    def check_params(self, params: FrameParams) -> None:
        if params.expr.shape[1] != self.n_expr or params.pose.shape[1] != self.n_joints:
            raise ValueError(f"parameters have {params.expr.shape[1]} expression channels and "
                             f"{params.pose.shape[1]} joints; the rig has {self.n_expr} and {self.n_joints}")

    def blended(self, params: FrameParams) -> tuple[torch.Tensor, torch.Tensor]:
        """The expression blendshapes: vertices (B, V, 3) and the joints they move (B, J, 3), on the parameters'
        device and in their dtype."""
        self.check_params(params)
        t = self.tensors.like(params.expr)
        b = params.batch
        v = t["vertices"].expand(b, -1, -1) + blend(t["exprdirs"], params.expr)
        joints = t["joints"].expand(b, -1, -1) + blend(t["joint_exprdirs"], params.expr)
        return v, joints

    def deform(self, params: FrameParams) -> Skinned:
        """Pose the mesh: expression blendshapes, pose correctives, LBS, translation."""
        v, joints = self.blended(params)
        t = self.tensors.like(params.expr)
        return lbs(v, joints, params.pose, t["posedirs"], t["lbs_weights"], self.parents, params.translation)


@dataclass(frozen=True, eq=False)
class RigPoints:
    """Points driven by a rig: point i rests at ``interp[i] @ rig.vertices`` and skins with
    ``interp[i] @ rig.lbs_weights``."""

    rig: Rig
    interp: sp.csr_matrix            # (N, V) rows sum to 1
    faces: np.ndarray | None = None  # (F, 3) the points' own mesh, if they form one
    vertices: np.ndarray = field(init=False, repr=False)     # (N, 3) rest positions
    lbs_weights: np.ndarray = field(init=False, repr=False)  # (N, J) interpolated skinning weights
    # interp and lbs_weights as torch tensors on any device (lam_core.tensors)
    tensors: ArrayTensors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.interp.shape[1] != self.rig.n_vertices:
            raise ValueError(f"interpolation map has {self.interp.shape[1]} columns for a rig of "
                             f"{self.rig.n_vertices} vertices")
        interp = sp.csr_matrix(self.interp)
        object.__setattr__(self, "interp", interp)
        object.__setattr__(self, "vertices", (interp @ self.rig.vertices.astype(np.float64)).astype(np.float32))
        object.__setattr__(self, "lbs_weights", np.asarray(interp @ self.rig.lbs_weights, dtype=np.float32))
        object.__setattr__(self, "tensors", ArrayTensors.of(self, "interp", "lbs_weights"))

    @property
    def n_points(self) -> int:
        return self.interp.shape[0]

    def in_region(self, name: str) -> np.ndarray:
        """(N,) bool: points that lie mostly (interpolation weight >= 0.5) on the rig's region ``name``."""
        ids = self.rig.regions.get(name)
        if ids is None:
            return np.zeros(self.n_points, bool)
        on = np.zeros(self.rig.n_vertices)
        on[ids] = 1.0
        return (self.interp @ on) >= 0.5

    def interpolate(self, base_values: torch.Tensor) -> torch.Tensor:
        """Carry per-vertex values (B, V, C) of the rig to the points: (B, N, C), on their device, in their dtype."""
        b, v, c = base_values.shape
        flat = base_values.permute(1, 0, 2).reshape(v, b * c)
        return (self.tensors.like(base_values)["interp"] @ flat).reshape(-1, b, c).permute(1, 0, 2)

    def deform(self, params: FrameParams, offsets: torch.Tensor | None = None) -> Skinned:
        """Pose the points; ``offsets`` (N, 3) are canonical displacements added before skinning (the
        Gaussians' offsets from their points)."""
        v, joints = self.rig.blended(params)

        def to_points(base: torch.Tensor) -> torch.Tensor:
            pts = self.interpolate(base)
            return pts if offsets is None else pts + offsets

        posedirs = self.rig.tensors.like(params.expr)["posedirs"]
        weights = self.tensors.like(params.expr)["lbs_weights"]
        return lbs(v, joints, params.pose, posedirs, weights, self.rig.parents, params.translation, to_points)
