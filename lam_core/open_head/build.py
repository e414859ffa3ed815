"""Assembling the open head's arrays (a deterministic function of the canonical face mesh).

The shape and expression bases share one buffer ``basis`` (V, 3, 5 + 1404 + A):
[cranium controls | landmark channels | ARKit channels]; ``shapedirs`` is its first 5 + 1404 columns and
``exprdirs`` its last 1404 + A, so the landmark field is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import landmarks as L
from .assets import CanonicalFaceMesh
from .expressions import arkit_patterns, landmark_channel_names, landmark_field
from .head_mesh import REGIONS, HeadMesh, build_head_mesh
from .rigging import joint_regressor, lbs_weights
from .shape import CRANIUM_CONTROLS, cranium_controls

N_POSEDIRS = 36


@dataclass(frozen=True, eq=False)
class OpenHeadArrays:
    v_template: np.ndarray      # (V, 3) float32
    faces: np.ndarray           # (F, 3) int64
    j_regressor: np.ndarray     # (5, V) float32
    lbs_weights: np.ndarray     # (V, 5) float32
    basis: np.ndarray           # (V, 3, 5 + 1404 + A) float32
    n_controls: int
    expr_names: tuple[str, ...]
    shape_names: tuple[str, ...]
    lmk_ids: np.ndarray         # (478,)
    lmk_faces: np.ndarray       # (478,)
    lmk_bary: np.ndarray        # (478, 3)
    vertex_region: np.ndarray   # (V,) int8 index into REGIONS
    procrustes_ids: np.ndarray  # (33,)
    procrustes_weights: np.ndarray
    face_uvs: np.ndarray        # (468, 2) the canonical mesh's texture coordinates of the landmark vertices
    n_face_vertices: int


def _landmark_embedding(mesh: HeadMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    faces = mesh.faces
    ids = np.arange(L.N_LANDMARKS)
    fidx = np.zeros(L.N_LANDMARKS, np.int64)
    bary = np.zeros((L.N_LANDMARKS, 3))
    nface = len(faces)
    first = np.full(len(mesh.vertices), -1)
    for k in (2, 1, 0):  # any triangle that has the vertex, deterministic
        first[faces[:, k]] = np.arange(nface)
    for i in range(L.N_FACE):
        fi = int(first[i])
        fidx[i] = fi
        bary[i, list(faces[fi]).index(i)] = 1.0
    region = mesh.region_of_vertices()[faces[:, 0]]
    for lid, (name, p) in mesh.iris.items():
        cand = np.flatnonzero(region == REGIONS.index(name))
        centre = mesh.eye_centres[0 if name.endswith("_l") else 1]
        d = p - centre
        best = None
        for fi in cand:
            a, b, c = mesh.vertices[faces[fi]]
            m = np.stack([a - centre, b - centre, c - centre], 1)
            try:
                w = np.linalg.solve(m, d)  # d = m @ w: the ray through p meets the triangle where w >= 0
            except np.linalg.LinAlgError:
                continue
            if (w >= -1e-9).all():
                best = (fi, w / w.sum())
                break
        if best is None:
            raise RuntimeError(f"iris landmark {lid} is on no eyeball triangle")
        fidx[lid], bary[lid] = best
    return ids, fidx, bary


def build_arrays(canonical: CanonicalFaceMesh) -> OpenHeadArrays:
    mesh = build_head_mesh(canonical.vertices, canonical.faces)
    nv = len(mesh.vertices)
    w_lbs = lbs_weights(mesh)
    jr = joint_regressor(mesh)
    field = landmark_field(mesh)  # (V, 468)
    joints = jr @ mesh.vertices
    x = mesh.vertices[: L.N_FACE]
    patterns = arkit_patterns(x, mesh.eye_centres, w_lbs[: L.N_FACE, 2], joints[2])
    controls = cranium_controls(mesh)
    nc, nl, na = controls.shape[2], 3 * L.N_FACE, len(patterns)
    basis = np.zeros((nv, 3, nc + nl + na), np.float32)
    basis[:, :, :nc] = controls
    for a in range(3):
        basis[:, a, nc + a: nc + nl: 3] = field
    for k, pat in enumerate(patterns.values()):
        basis[:, :, nc + nl + k] = field @ pat
    lmk_names = landmark_channel_names()
    ids, fidx, bary = _landmark_embedding(mesh)
    return OpenHeadArrays(
        v_template=mesh.vertices.astype(np.float32), faces=mesh.faces, j_regressor=jr.astype(np.float32),
        lbs_weights=w_lbs.astype(np.float32), basis=basis, n_controls=nc,
        expr_names=lmk_names + tuple(patterns), shape_names=CRANIUM_CONTROLS + lmk_names,
        lmk_ids=ids, lmk_faces=fidx, lmk_bary=bary, vertex_region=mesh.region_of_vertices().astype(np.int8),
        procrustes_ids=canonical.procrustes_ids, procrustes_weights=canonical.procrustes_weights,
        face_uvs=canonical.uvs, n_face_vertices=mesh.n_face,
    )
