"""Gaussians laid flat on a surface: one per point, a disc in the tangent plane sized by the local point
spacing, thin along the normal."""

from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

TANGENT_SCALE = 0.6   # disc standard deviation / mean distance to the neighbouring points
NORMAL_SCALE = 0.12


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    return np.asarray(trimesh.Trimesh(vertices, faces, process=False).vertex_normals, dtype=np.float64)


def point_spacing(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Mean length of the mesh edges at each vertex (N,)."""
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    edges, length = mesh.edges_unique, mesh.edges_unique_length
    total = np.bincount(edges.ravel(), np.repeat(length, 2), minlength=len(vertices))
    count = np.bincount(edges.ravel(), minlength=len(vertices))
    return total / np.maximum(count, 1)


def frames_from_normals(normals: np.ndarray) -> np.ndarray:
    """Unit quaternions (wxyz) of rotations whose local z axis is the normal."""
    n = normals / np.linalg.norm(normals, axis=1, keepdims=True).clip(1e-12)
    helper = np.where(np.abs(n[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    t = np.cross(helper, n)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    b = np.cross(n, t)
    xyzw = Rotation.from_matrix(np.stack([t, b, n], 2)).as_quat()
    return np.concatenate([xyzw[:, 3:], xyzw[:, :3]], 1)


def surface_discs(vertices: np.ndarray, faces: np.ndarray, tangent: float = TANGENT_SCALE,
                  normal: float = NORMAL_SCALE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scales (N, 3), rotations (N, 4) wxyz, normals (N, 3)) of flat discs covering the surface."""
    v = np.asarray(vertices, np.float64)
    normals = vertex_normals(v, faces)
    spacing = point_spacing(v, faces)
    spacing = np.where(spacing > 0, spacing, np.median(spacing[spacing > 0]))
    scales = np.stack([tangent * spacing, tangent * spacing, normal * spacing], 1)
    return scales, frames_from_normals(normals), normals
