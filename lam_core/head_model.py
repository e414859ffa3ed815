"""The head-model interface every head (FLAME, the open head, imported avatars) provides.

A head model is a rigged template mesh in metres (y up, z forward, FLAME's axes) with the 5 FLAME joints,
a joint regressor, LBS weights, shape, expression and pose-corrective bases, named expression channels, and
optionally where MediaPipe's face landmarks sit on its surface. Everything downstream (subdivision, the rig,
Gaussians, the .lam file, the viewer) works on this one layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import torch

from .errors import ModelFileError
from .lbs import Skinned, blend, lbs
from .subdivision import subdivide, subdivide_landmarks
from .tensors import ArrayTensors

JOINT_NAMES: tuple[str, ...] = ("global", "neck", "jaw", "eye_l", "eye_r")
FLAME_PARENTS: tuple[int, ...] = (-1, 0, 1, 1, 1)
N_POSE_CORRECTIVES = (len(JOINT_NAMES) - 1) * 9  # 36


def flame_expr_names(n: int) -> tuple[str, ...]:
    """FLAME's expression channel names: expr_00 .. expr_99."""
    return tuple(f"expr_{i:02d}" for i in range(n))


@dataclass(frozen=True, eq=False)
class LandmarkEmbedding:
    """Where landmarks sit on a mesh: landmark ``ids[i]`` (MediaPipe index 0..477) is the point with
    barycentric coordinates ``bary[i]`` in triangle ``faces[i]`` of the mesh it belongs to."""

    ids: np.ndarray    # (L,) int
    faces: np.ndarray  # (L,) int, triangle indices
    bary: np.ndarray   # (L, 3) float

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.faces.shape != (n,) or self.bary.shape != (n, 3):
            raise ValueError(f"landmark embedding: ids {self.ids.shape}, faces {self.faces.shape}, "
                             f"bary {self.bary.shape} disagree")

    def points(self, vertices: np.ndarray | torch.Tensor, faces: np.ndarray) -> np.ndarray | torch.Tensor:
        """Landmark positions for vertices (V, 3) or (B, V, 3) of the mesh with these ``faces``."""
        tri = faces[self.faces]  # (L, 3)
        if isinstance(vertices, torch.Tensor):
            bary = torch.as_tensor(self.bary, dtype=vertices.dtype, device=vertices.device)
            corners = vertices[..., torch.as_tensor(tri, dtype=torch.long, device=vertices.device), :]
            return (corners * bary[..., None]).sum(-2)
        return (vertices[..., tri, :] * self.bary[..., None]).sum(-2)

    def subdivided(self, n_faces: int, levels: int = 1) -> "LandmarkEmbedding":
        """The same points on the mesh of ``n_faces`` triangles after ``levels`` midpoint subdivisions."""
        fidx, bary = self.faces, self.bary
        for _ in range(levels):
            fidx, bary = subdivide_landmarks(fidx, bary, n_faces)
            n_faces *= 4
        return LandmarkEmbedding(ids=self.ids, faces=fidx, bary=bary)


@dataclass(frozen=True, eq=False)
class HeadModel:
    """A rigged parametric head. Arrays are numpy, float32 (indices int64)."""

    name: str
    v_template: np.ndarray          # (V, 3) metres
    faces: np.ndarray               # (F, 3)
    j_regressor: np.ndarray         # (J, V) dense
    parents: tuple[int, ...]        # (J,), parents[0] == -1, parents[j] < j
    lbs_weights: np.ndarray         # (V, J), rows sum to 1
    shapedirs: np.ndarray           # (V, 3, S)
    exprdirs: np.ndarray            # (V, 3, K)
    posedirs: np.ndarray            # (V, 3, (J-1)*9)
    expr_names: tuple[str, ...]     # (K,)
    joint_names: tuple[str, ...] = JOINT_NAMES
    landmarks: LandmarkEmbedding | None = None
    shape_names: tuple[str, ...] = field(default=())  # optional names of the shape controls
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # optional named vertex sets ("eyeball_l", ...)
    # the arrays forward() needs, as torch tensors on any device (lam_core.tensors); made from the fields above
    tensors: ArrayTensors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        validate(self)
        object.__setattr__(self, "tensors", ArrayTensors.of(
            self, "v_template", "j_regressor", "lbs_weights", "shapedirs", "exprdirs", "posedirs"))

    @property
    def n_vertices(self) -> int:
        return self.v_template.shape[0]

    @property
    def n_shape(self) -> int:
        return self.shapedirs.shape[2]

    @property
    def n_expr(self) -> int:
        return self.exprdirs.shape[2]

    @property
    def n_joints(self) -> int:
        return len(self.parents)

    def with_landmarks(self, landmarks: LandmarkEmbedding | None) -> "HeadModel":
        return replace(self, landmarks=landmarks)

    def subdivide(self, levels: int = 1) -> "HeadModel":
        """Midpoint-subdivided model: template, LBS weights, shape/expression bases and pose correctives
        are interpolated to the new vertices. The joint regressor gets zero columns for them, so the joints
        stay exactly what the base vertices regress (every new vertex is an average of base vertices)."""
        sub = subdivide(self.faces, self.n_vertices, levels)
        jr = np.zeros((self.n_joints, sub.n_fine), dtype=np.float32)
        jr[:, : self.n_vertices] = self.j_regressor
        lm = None if self.landmarks is None else self.landmarks.subdivided(len(self.faces), levels)
        return replace(
            self,
            name=f"{self.name}, subdivided x{levels}",
            v_template=sub.apply(self.v_template),
            faces=sub.faces,
            j_regressor=jr,
            lbs_weights=sub.apply(self.lbs_weights),
            shapedirs=sub.apply(self.shapedirs),
            exprdirs=sub.apply(self.exprdirs),
            posedirs=sub.apply(self.posedirs),
            landmarks=lm,
        )

    def forward(
        self,
        shape: torch.Tensor | None = None,
        expr: torch.Tensor | None = None,
        pose: torch.Tensor | None = None,
        translation: torch.Tensor | None = None,
        batch: int | None = None,
    ) -> Skinned:
        """The model's full forward pass (batched torch, differentiable in every input).

        shape (B, S), expr (B, K), pose (B, J, 3) axis-angle, translation (B, 3); missing ones are zero.
        It runs on the device and in the dtype of the inputs (float32 on the CPU without any).
        """
        given = [t for t in (shape, expr, pose, translation) if t is not None]
        b = batch if batch is not None else (given[0].shape[0] if given else 1)
        t = self.tensors.like(given[0]) if given else self.tensors.to()
        v = t["v_template"].expand(b, -1, -1)
        if shape is not None:
            v = v + blend(t["shapedirs"], shape)
        if expr is not None:
            v = v + blend(t["exprdirs"], expr)
        joints = t["j_regressor"] @ v
        if pose is None:
            pose = v.new_zeros(b, self.n_joints, 3)
        return lbs(v, joints, pose, t["posedirs"], t["lbs_weights"], self.parents, translation)


def _check(cond: bool, name: str, msg: str) -> None:
    if not cond:
        raise ModelFileError(f"{name}: {msg}")


def validate(m: HeadModel) -> None:
    """Check every array's shape against the others; raise ModelFileError naming the first wrong one."""
    n = m.name

    def arr(key: str, ndim: int) -> np.ndarray:
        a = getattr(m, key)
        _check(isinstance(a, np.ndarray), n, f"{key} is {type(a).__name__}, expected an array")
        _check(a.ndim == ndim, n, f"{key} has shape {a.shape}, expected {ndim} dimensions")
        _check(np.issubdtype(a.dtype, np.number), n, f"{key} has dtype {a.dtype}, expected numbers")
        if np.issubdtype(a.dtype, np.floating):
            _check(bool(np.isfinite(a).all()), n, f"{key} contains NaN or infinity")
        return a

    v = arr("v_template", 2)
    _check(v.shape[1] == 3 and v.shape[0] >= 3, n, f"v_template has shape {v.shape}, expected (V, 3)")
    nv = v.shape[0]
    f = arr("faces", 2)
    _check(f.shape[1] == 3 and f.shape[0] >= 1, n, f"faces has shape {f.shape}, expected (F, 3)")
    _check(np.issubdtype(f.dtype, np.integer), n, f"faces has dtype {f.dtype}, expected integers")
    _check(int(f.min()) >= 0 and int(f.max()) < nv, n, f"faces index vertices outside 0..{nv - 1}")
    nj = len(m.parents)
    _check(nj >= 1 and m.parents[0] == -1, n, "parents[0] must be -1 (the root)")
    _check(all(0 <= p < j for j, p in enumerate(m.parents) if j), n, f"parents {m.parents} are not a tree "
           "in topological order")
    _check(len(m.joint_names) == nj, n, f"{len(m.joint_names)} joint names for {nj} joints")
    jr = arr("j_regressor", 2)
    _check(jr.shape == (nj, nv), n, f"j_regressor has shape {jr.shape}, expected ({nj}, {nv})")
    w = arr("lbs_weights", 2)
    _check(w.shape == (nv, nj), n, f"lbs_weights has shape {w.shape}, expected ({nv}, {nj})")
    _check(bool(np.allclose(w.sum(1), 1.0, atol=1e-3)), n, "lbs_weights rows do not sum to 1")
    sd = arr("shapedirs", 3)
    _check(sd.shape[:2] == (nv, 3), n, f"shapedirs has shape {sd.shape}, expected ({nv}, 3, S)")
    ed = arr("exprdirs", 3)
    _check(ed.shape[:2] == (nv, 3), n, f"exprdirs has shape {ed.shape}, expected ({nv}, 3, K)")
    _check(len(m.expr_names) == ed.shape[2], n, f"{len(m.expr_names)} expression names for "
           f"{ed.shape[2]} expression components")
    _check(len(set(m.expr_names)) == len(m.expr_names), n, "expression channel names repeat")
    pd = arr("posedirs", 3)
    _check(pd.shape == (nv, 3, (nj - 1) * 9), n, f"posedirs has shape {pd.shape}, expected "
           f"({nv}, 3, {(nj - 1) * 9})")
    for key, ids in m.regions.items():
        _check(isinstance(ids, np.ndarray) and ids.ndim == 1 and np.issubdtype(ids.dtype, np.integer)
               and (ids.size == 0 or (ids.min() >= 0 and ids.max() < nv)), n, f"region {key!r} is not a list of "
               "vertex indices")
    if m.landmarks is not None:
        lm = m.landmarks
        _check(lm.faces.size == 0 or (lm.faces.min() >= 0 and lm.faces.max() < f.shape[0]), n,
               "landmark embedding names triangles outside the mesh")


def parents_from_kintree(kintree: np.ndarray, name: str) -> tuple[int, ...]:
    """FLAME stores parents as kintree_table[0] with the root's parent as -1 or 2**32-1."""
    _check(kintree.ndim == 2 and kintree.shape[0] == 2, name, f"kintree_table has shape {kintree.shape}, "
           "expected (2, J)")
    parents = [int(p) for p in kintree[0]]
    parents[0] = -1
    order = [int(i) for i in kintree[1]]
    _check(order == list(range(len(order))), name, "kintree_table joints are not numbered 0..J-1 in order")
    return tuple(parents)

