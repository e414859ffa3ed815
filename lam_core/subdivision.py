"""Midpoint subdivision that carries every per-vertex quantity of a rig to the new vertices.

One level splits each triangle into four: the V old vertices keep their indices and each of the E unique
edges gets its midpoint, numbered V + edge index; so V' = V + E and F' = 4F. Everything per vertex (rest
positions, LBS weights, shape/expression bases, pose correctives) is linear in the vertices, so it is
carried by one sparse matrix ``interp`` (V', V): a midpoint is the mean of its edge's two vertices. Applied
twice, the matrices multiply and each new point is a fixed combination of at most four base vertices, which
is what the .lam file stores instead of per-point bases.

FLAME's 5,023 vertices / 9,976 faces become 20,018 points (once) and 79,936 (twice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import trimesh


@dataclass(frozen=True, eq=False)
class Subdivision:
    faces: np.ndarray          # (F', 3) int64 faces of the fine mesh
    interp: sp.csr_matrix      # (V', V) fine = interp @ coarse

    @property
    def n_fine(self) -> int:
        return self.interp.shape[0]

    @property
    def n_coarse(self) -> int:
        return self.interp.shape[1]

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Carry per-vertex values (V, ...) of the coarse mesh to the fine mesh (V', ...)."""
        if values.shape[0] != self.n_coarse:
            raise ValueError(f"expected {self.n_coarse} rows, got {values.shape[0]}")
        flat = values.reshape(values.shape[0], -1)
        out = self.interp @ flat
        return np.ascontiguousarray(out.reshape((self.n_fine,) + values.shape[1:]), dtype=values.dtype)


def _one_level(faces: np.ndarray, n_vertices: int) -> Subdivision:
    mesh = trimesh.Trimesh(vertices=np.zeros((n_vertices, 3)), faces=faces, process=False, validate=False)
    edges = mesh.edges_unique                  # (E, 2)
    mid = mesh.faces_unique_edges + n_vertices  # (F, 3): midpoints of edges (0,1), (1,2), (2,0)
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    m_ab, m_bc, m_ca = mid[:, 0], mid[:, 1], mid[:, 2]
    fine_faces = np.concatenate(
        [
            np.stack([a, m_ab, m_ca], 1),
            np.stack([m_ab, b, m_bc], 1),
            np.stack([m_ca, m_bc, c], 1),
            np.stack([m_ab, m_bc, m_ca], 1),
        ]
    ).astype(np.int64)
    n_e = len(edges)
    rows = np.concatenate([np.arange(n_vertices), np.repeat(np.arange(n_e) + n_vertices, 2)])
    cols = np.concatenate([np.arange(n_vertices), edges.reshape(-1)])
    vals = np.concatenate([np.ones(n_vertices), np.full(2 * n_e, 0.5)])
    interp = sp.csr_matrix((vals, (rows, cols)), shape=(n_vertices + n_e, n_vertices))
    return Subdivision(faces=fine_faces, interp=interp)


def subdivide(faces: np.ndarray, n_vertices: int, levels: int = 1) -> Subdivision:
    """Midpoint-subdivide a triangle mesh ``levels`` times; the result maps the original vertices."""
    if levels < 0:
        raise ValueError("levels must be >= 0")
    faces = np.asarray(faces, dtype=np.int64)
    result = Subdivision(faces=faces, interp=sp.identity(n_vertices, format="csr"))
    for _ in range(levels):
        step = _one_level(result.faces, result.n_fine)
        result = Subdivision(faces=step.faces, interp=(step.interp @ result.interp).tocsr())
    return result


def subdivide_landmarks(faces_idx: np.ndarray, bary: np.ndarray, n_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Re-express points given by (coarse triangle, barycentric) on the once-subdivided mesh.

    Coarse triangle f = (a, b, c) becomes fine triangles f (a, m_ab, m_ca), F+f (m_ab, b, m_bc),
    2F+f (m_ca, m_bc, c) and 3F+f (m_ab, m_bc, m_ca) (the order :func:`subdivide` writes them in).
    """
    u, v, w = bary[:, 0], bary[:, 1], bary[:, 2]
    cands = np.stack(
        [
            np.stack([u - v - w, 2 * v, 2 * w], 1),      # corner a
            np.stack([2 * u, v - u - w, 2 * w], 1),      # corner b
            np.stack([2 * u, 2 * v, w - u - v], 1),      # corner c
            np.stack([u + v - w, v + w - u, u + w - v], 1),  # centre
        ],
        1,
    )  # (L, 4, 3)
    best = cands.min(2).argmax(1)  # the sub-triangle that contains the point (all coordinates >= 0)
    new_bary = cands[np.arange(len(bary)), best]
    return faces_idx + best * n_faces, new_bary
