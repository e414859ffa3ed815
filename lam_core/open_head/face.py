"""The face part of the open head: MediaPipe's canonical mesh with its eyes and mouth opened, refined once by
an interpolating (butterfly) subdivision.

Vertex i < 468 is landmark i. Every further face vertex is a fixed linear combination of the landmark
vertices (``from_landmarks``, sparse (Vf, 468)), so whatever moves the landmarks (a person's shape, an
expression) moves the whole face linearly and exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import landmarks as L
from .mesh_ops import boundary_loops, directed_edges

BUTTERFLY_W = 1.0 / 16.0


@dataclass(frozen=True, eq=False)
class FacePart:
    vertices: np.ndarray        # (Vf, 3) metres; the first 468 are the landmarks
    faces: np.ndarray           # (Ff, 3)
    from_landmarks: sp.csr_matrix  # (Vf, 468)
    oval: np.ndarray            # boundary loop ids (surface on the left)
    eye_r: np.ndarray           # eye opening loops
    eye_l: np.ndarray
    mouth: np.ndarray


def _cover_faces(faces: np.ndarray, contour: set[int]) -> np.ndarray:
    return np.flatnonzero(np.isin(faces, list(contour)).all(1))


def open_face(faces: np.ndarray) -> np.ndarray:
    """The canonical triangles less those that close the eyes and the mouth."""
    drop = np.concatenate([
        _cover_faces(faces, set(L.EYE_R_UPPER + L.EYE_R_LOWER)),
        _cover_faces(faces, set(L.EYE_L_UPPER + L.EYE_L_LOWER)),
        _cover_faces(faces, set(L.LIPS_INNER_UPPER + L.LIPS_INNER_LOWER)),
    ])
    return np.delete(faces, drop, axis=0)


def butterfly_map(faces: np.ndarray, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """One interpolating subdivision step: (interp (n + E, n), fine faces (4F, 3)). Old vertices stay;
    an interior edge's new vertex uses the 8-point butterfly stencil, a boundary edge's the 4-point curve
    scheme along its loop, and an edge whose stencil is incomplete its midpoint."""
    he = directed_edges(faces)
    nf = len(faces)
    opp = np.concatenate([faces[:, 2], faces[:, 0], faces[:, 1]])  # vertex opposite each half-edge
    half = {(int(a), int(b)): k for k, (a, b) in enumerate(he)}
    und = np.sort(he, axis=1)
    uniq, inv = np.unique(und, axis=0, return_inverse=True)
    prev_b: dict[int, int] = {}
    next_b: dict[int, int] = {}
    for loop in boundary_loops(faces):
        for i, v in enumerate(loop):
            next_b[int(v)] = int(loop[(i + 1) % len(loop)])
            prev_b[int(v)] = int(loop[i - 1])

    def across(a: int, b: int) -> int | None:
        """Vertex opposite edge (a, b) in the face on the other side of half-edge a -> b."""
        k = half.get((b, a))
        return None if k is None else int(opp[k])

    rows, cols, vals = [], [], []
    for e, (a, b) in enumerate(uniq):
        a, b = int(a), int(b)
        r = n + e
        k1, k2 = half.get((a, b)), half.get((b, a))
        if k1 is None or k2 is None:  # boundary edge: 4-point scheme along the loop
            if k1 is None:
                a, b = b, a
            p, q = prev_b.get(a), next_b.get(b)
            if p is None or q is None or p == b or q == a:
                stencil = {a: 0.5, b: 0.5}
            else:
                stencil = {p: -1 / 16, a: 9 / 16, b: 9 / 16, q: -1 / 16}
        else:
            c, d = int(opp[k1]), int(opp[k2])
            wings = [across(b, c), across(c, a), across(a, d), across(d, b)]
            if any(w is None for w in wings):
                stencil = {a: 0.5, b: 0.5}
            else:
                stencil = {a: 0.5, b: 0.5}
                for x in (c, d):
                    stencil[x] = stencil.get(x, 0.0) + 2 * BUTTERFLY_W
                for x in wings:
                    stencil[x] = stencil.get(x, 0.0) - BUTTERFLY_W
        for k, w in stencil.items():
            rows.append(r)
            cols.append(k)
            vals.append(w)
    ne = len(uniq)
    interp = sp.vstack([sp.identity(n, format="csr"),
                        sp.csr_matrix((vals, (rows, cols)), shape=(n + ne, n))[n:]]).tocsr()
    mid = inv.reshape(3, nf).T + n  # edges (0,1), (1,2), (2,0)
    a, b, c = faces.T
    fine = np.concatenate([np.stack([a, mid[:, 0], mid[:, 2]], 1), np.stack([mid[:, 0], b, mid[:, 1]], 1),
                           np.stack([mid[:, 2], mid[:, 1], c], 1), np.stack([mid[:, 0], mid[:, 1], mid[:, 2]], 1)])
    return interp, fine.astype(np.int64)


def _loop_through(loops: list[np.ndarray], landmark: int) -> np.ndarray:
    hits = [lp for lp in loops if landmark in set(lp.tolist())]
    if len(hits) != 1:
        raise RuntimeError(f"expected one boundary loop through landmark {landmark}, found {len(hits)}")
    return hits[0]


def build_face(vertices: np.ndarray, faces: np.ndarray) -> FacePart:
    """The opened, refined face from the canonical vertices (468, 3) metres and triangles."""
    opened = open_face(faces)
    interp, fine = butterfly_map(opened, L.N_FACE)
    v = interp @ vertices
    loops = boundary_loops(fine)
    if len(loops) != 4:
        raise RuntimeError(f"the opened face has {len(loops)} boundary loops, expected 4")
    return FacePart(vertices=v, faces=fine, from_landmarks=interp,
                    oval=_loop_through(loops, L.CHIN), eye_r=_loop_through(loops, 159),
                    eye_l=_loop_through(loops, 386), mouth=_loop_through(loops, 13))
