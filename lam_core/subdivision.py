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


WEIGHT_TOLERANCE = 1e-4


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


def _edges(faces: np.ndarray, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """The mesh's unique edges (E, 2) and each triangle's edges (0,1), (1,2), (2,0) as indices into them (F, 3),
    in trimesh's order: the order the midpoints are numbered in."""
    mesh = trimesh.Trimesh(vertices=np.zeros((n_vertices, 3)), faces=faces, process=False, validate=False)
    return mesh.edges_unique, mesh.faces_unique_edges


def _one_level(faces: np.ndarray, n_vertices: int) -> Subdivision:
    edges, edge_of = _edges(faces, n_vertices)  # (E, 2), (F, 3)
    mid = edge_of + n_vertices                  # midpoints of edges (0,1), (1,2), (2,0)
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


def subdivide_except(faces: np.ndarray, n_vertices: int, coarse: np.ndarray, levels: int = 1) -> Subdivision:
    """Midpoint subdivision that, at the first level, splits only the edges of triangles with a vertex that is
    not ``coarse`` (V,) bool (:func:`subdivide_at`): the triangles among coarse vertices stay whole, but for
    those that border the rest, which are split at the edges they share with it. The levels after the first
    are uniform."""
    faces = np.asarray(faces, dtype=np.int64)
    coarse = np.asarray(coarse, dtype=bool)
    if levels < 1:
        raise ValueError("levels must be >= 1")
    if coarse.shape != (n_vertices,):
        raise ValueError(f"coarse has shape {coarse.shape}; expected ({n_vertices},)")
    edges, edge_of = _edges(faces, n_vertices)
    kept = np.zeros(len(edges), bool)
    kept[edge_of[~coarse[faces].all(1)].ravel()] = True
    result = subdivide_at(faces, n_vertices, kept)
    if levels > 1:
        step = subdivide(result.faces, result.n_fine, levels - 1)
        result = Subdivision(faces=step.faces, interp=(step.interp @ result.interp).tocsr())
    return result


def subdivide_at(faces: np.ndarray, n_vertices: int, kept: np.ndarray) -> Subdivision:
    """One level of midpoint subdivision at the edges ``kept`` (E,) bool (unique edges in :func:`subdivide`'s
    order). A triangle (p, q, r) with
    - all three edges kept splits in four as :func:`subdivide` splits it;
    - none stays whole;
    - one, (p, q), splits from its midpoint m to the opposite corner: (p, m, r), (m, q, r);
    - two, (p, q) and (r, p), meeting at p: (p, m_pq, m_rp), (m_pq, q, r), (m_pq, r, m_rp).
    No triangle is degenerate and every one keeps the base winding. The triangles come in that order (each
    group in base order); the points are the V base vertices, then the kept midpoints in edge order, so the
    points alone (the kept edges) give the triangles. Vectorised: the cost is linear in F."""
    faces = np.asarray(faces, dtype=np.int64)
    kept = np.asarray(kept, dtype=bool)
    full = _one_level(faces, n_vertices)
    f = len(faces)
    quads = full.faces.reshape(4, f, 3)
    edge_of = quads[3] - n_vertices            # the centre triangle's corners: midpoints of (0,1), (1,2), (2,0)
    new_id = np.full(n_vertices + len(kept), -1, np.int64)
    new_id[:n_vertices] = np.arange(n_vertices)
    new_id[n_vertices + np.flatnonzero(kept)] = n_vertices + np.arange(kept.sum())
    on = kept[edge_of]                         # (F, 3)
    count = on.sum(1)
    mid = new_id[n_vertices + edge_of]         # (F, 3) point ids of the midpoints (-1 where not kept)
    out = [new_id[quads[:, count == 3].reshape(-1, 3)], faces[count == 0]]
    one = np.flatnonzero(count == 1)
    s = np.argmax(on[one], axis=1)             # the kept edge (v_s, v_s+1)
    p, q, r = (faces[one, (s + k) % 3] for k in range(3))
    m = mid[one, s]
    out.append(np.stack([np.stack([p, m, r], 1), np.stack([m, q, r], 1)], 1).reshape(-1, 3))
    two = np.flatnonzero(count == 2)
    s = (np.argmin(on[two], axis=1) + 2) % 3   # the corner where the two kept edges meet (opposite the other)
    p, q, r = (faces[two, (s + k) % 3] for k in range(3))
    m_pq, m_rp = mid[two, s], mid[two, (s + 2) % 3]
    out.append(np.stack([np.stack([p, m_pq, m_rp], 1), np.stack([m_pq, q, r], 1), np.stack([m_pq, r, m_rp], 1)],
                        1).reshape(-1, 3))
    return Subdivision(faces=np.concatenate(out), interp=full.interp[np.flatnonzero(new_id >= 0)].tocsr())


def kept_edges(faces: np.ndarray, n_vertices: int, interp: sp.spmatrix) -> np.ndarray | None:
    """The edges whose midpoints ``interp`` (N, V) holds after the V base vertices, as :func:`subdivide_at`
    lays its points out (E,) bool; None when its rows are not that layout (weights within WEIGHT_TOLERANCE: a
    file stores them quantised)."""
    interp = sp.csr_matrix(interp)
    n = interp.shape[0]
    if interp.shape[1] != n_vertices or n < n_vertices:
        return None
    head = interp[:n_vertices]
    if head.nnz != n_vertices or not np.array_equal(head.indices, np.arange(n_vertices)) \
            or not np.allclose(head.data, 1.0, atol=WEIGHT_TOLERANCE):
        return None
    tail = interp[n_vertices:]
    if tail.nnz != 2 * (n - n_vertices) or not np.all(np.diff(tail.indptr) == 2) \
            or not np.allclose(tail.data, 0.5, atol=WEIGHT_TOLERANCE):
        return None
    edges = np.sort(_edges(np.asarray(faces, np.int64), n_vertices)[0], axis=1)
    pairs = np.sort(tail.indices.reshape(-1, 2), axis=1)
    key = edges[:, 0].astype(np.int64) * n_vertices + edges[:, 1]
    order = np.argsort(key)
    want = pairs[:, 0].astype(np.int64) * n_vertices + pairs[:, 1]
    pos = np.searchsorted(key[order], want)
    if np.any(pos >= len(key)) or not np.array_equal(key[order][np.minimum(pos, len(key) - 1)], want):
        return None
    ids = order[pos]
    if np.any(np.diff(ids) <= 0):   # midpoints in edge order, each once
        return None
    kept = np.zeros(len(edges), bool)
    kept[ids] = True
    return kept


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
