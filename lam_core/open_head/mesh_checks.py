"""Checks of a triangle mesh's integrity: openings, manifoldness, winding, self-intersections."""

from __future__ import annotations

import numpy as np

from .mesh_ops import boundary_loops, directed_edges, edge_use_counts, winding_consistent


def openings(faces: np.ndarray) -> list[np.ndarray]:
    """Boundary loops (holes) of the mesh."""
    return boundary_loops(faces)


def is_edge_manifold(faces: np.ndarray) -> bool:
    """Every edge is used by one or two triangles."""
    return bool((edge_use_counts(faces)[1] <= 2).all())


def _segment_hits_triangle(p0: np.ndarray, p1: np.ndarray, tri: np.ndarray, eps: float) -> np.ndarray:
    """Whether segments p0-p1 (N, 3) cross triangles tri (N, 3, 3) strictly inside both (Moller-Trumbore)."""
    d = p1 - p0
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    h = np.cross(d, e2)
    a = np.einsum("ij,ij->i", e1, h)
    ok = np.abs(a) > 1e-18
    f = np.where(ok, 1.0 / np.where(ok, a, 1.0), 0.0)
    s = p0 - tri[:, 0]
    u = f * np.einsum("ij,ij->i", s, h)
    q = np.cross(s, e1)
    v = f * np.einsum("ij,ij->i", d, q)
    t = f * np.einsum("ij,ij->i", e2, q)
    return ok & (u > eps) & (v > eps) & (u + v < 1 - eps) & (t > eps) & (t < 1 - eps)


def triangle_pairs_intersect(v: np.ndarray, fa: np.ndarray, fb: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """For triangle pairs (fa[i], fb[i]) (vertex ids), whether they intersect: an edge of one passes through
    the interior of the other. Pairs sharing a vertex should be left out by the caller."""
    ta, tb = v[fa], v[fb]
    hit = np.zeros(len(fa), bool)
    for k in range(3):
        hit |= _segment_hits_triangle(ta[:, k], ta[:, (k + 1) % 3], tb, eps)
        hit |= _segment_hits_triangle(tb[:, k], tb[:, (k + 1) % 3], ta, eps)
    return hit


def self_intersections(v: np.ndarray, faces: np.ndarray, subset: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) pairs of triangles that intersect, among pairs with at least one triangle in ``subset`` (all
    triangles if None) whose bounding spheres overlap and that share no vertex."""
    from scipy.spatial import cKDTree

    centre = v[faces].mean(1)
    radius = np.linalg.norm(v[faces] - centre[:, None], axis=2).max(1)
    tree = cKDTree(centre)
    rmax = float(radius.max())
    sel = np.arange(len(faces)) if subset is None else np.asarray(subset)
    pairs = []
    for i, near in zip(sel, tree.query_ball_point(centre[sel], 2 * rmax)):
        near = np.asarray(near)
        near = near[(near != i) & (np.linalg.norm(centre[near] - centre[i], axis=1) <= radius[near] + radius[i])]
        if len(near):
            pairs.append(np.stack([np.full(len(near), i), near], 1))
    if not pairs:
        return np.zeros((0, 2), np.int64)
    p = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    share = (faces[p[:, 0]][:, :, None] == faces[p[:, 1]][:, None, :]).any((1, 2))
    p = p[~share]
    return p[triangle_pairs_intersect(v, faces[p[:, 0]], faces[p[:, 1]])]


__all__ = ["openings", "is_edge_manifold", "winding_consistent", "self_intersections", "triangle_pairs_intersect",
           "directed_edges"]
