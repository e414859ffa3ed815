"""Small triangle-mesh operations the open-head builder needs (index bookkeeping, loops, stitching).

Meshes are (vertices (V, 3), faces (F, 3)) with counter-clockwise faces seen from outside.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


def directed_edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) half-edges (a -> b) in face order."""
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Ordered boundary loops, each following its faces' half-edges (so the surface is on the left)."""
    he = directed_edges(faces)
    key = {(int(a), int(b)) for a, b in he}
    nxt: dict[int, int] = {}
    for a, b in he:
        if (int(b), int(a)) not in key:
            if int(a) in nxt:
                raise ValueError(f"vertex {a} is on the boundary twice (non-manifold)")
            nxt[int(a)] = int(b)
    loops, seen = [], set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop, v = [], start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            v = nxt[v]
        loops.append(np.array(loop, dtype=np.int64))
    return loops


def edge_use_counts(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges (E, 2) and how many faces use each."""
    e = np.sort(directed_edges(faces), axis=1)
    uniq, counts = np.unique(e, axis=0, return_counts=True)
    return uniq, counts


def winding_consistent(faces: np.ndarray) -> bool:
    """Every interior edge is traversed once in each direction (and no half-edge twice)."""
    he = directed_edges(faces)
    _, counts = np.unique(he, axis=0, return_counts=True)
    return bool((counts == 1).all())


def adjacency(faces: np.ndarray, n: int, vertices: np.ndarray | None = None) -> sp.csr_matrix:
    """Symmetric vertex adjacency; weights 1/edge length if vertices are given, else 1."""
    e = np.unique(np.sort(directed_edges(faces), axis=1), axis=0)
    w = np.ones(len(e)) if vertices is None else 1.0 / np.maximum(
        np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1), 1e-9)
    a = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([e[:, 0], e[:, 1]]),
                                                np.concatenate([e[:, 1], e[:, 0]]))), shape=(n, n))
    return a.tocsr()


def harmonic(adj: sp.csr_matrix, fixed: np.ndarray, values: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
    """Harmonic interpolation on a graph: rows ``fixed`` take ``values`` (len(fixed), C); the ``free`` rows
    (default: all others) solve the weighted graph Laplace equation on the subgraph of fixed and free
    vertices (edges to other vertices are ignored). Rows in neither stay zero."""
    from scipy.sparse.linalg import splu

    n = adj.shape[0]
    fixed = np.asarray(fixed)
    values = np.asarray(values, dtype=np.float64).reshape(len(fixed), -1)
    out = np.zeros((n, values.shape[1]))
    out[fixed] = values
    if free is None:
        mask = np.ones(n, bool)
        mask[fixed] = False
        free = np.flatnonzero(mask)
    if len(free) == 0:
        return out
    keep = np.concatenate([free, fixed])
    sub = adj[keep][:, keep].tocsr()
    lap = (sp.diags(np.asarray(sub.sum(1)).ravel()) - sub).tocsr()
    nfree = len(free)
    a = lap[:nfree, :nfree].tocsc()
    b = -(lap[:nfree, nfree:] @ values)
    out[free] = splu(a).solve(np.ascontiguousarray(b))
    return out


def arc_params(points: np.ndarray) -> np.ndarray:
    """Normalised arc-length parameter in [0, 1) of each point of a closed polyline."""
    seg = np.linalg.norm(np.roll(points, -1, 0) - points, axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
    return t / seg.sum()


def resample_loop(points: np.ndarray, n: int, offset: float = 0.0) -> np.ndarray:
    """n points evenly spaced by arc length along a closed polyline, starting at parameter ``offset``."""
    closed = np.concatenate([points, points[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    t = ((np.arange(n) / n + offset) % 1.0) * cum[-1]
    return np.stack([np.interp(t, cum, closed[:, k]) for k in range(points.shape[1])], 1)


def zip_loops(a: np.ndarray, pa: np.ndarray, b: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Triangulate the band between two closed loops of vertex ids ``a`` and ``b`` (positions ``pa``, ``pb``)
    running in the same sense, ``b[0]`` being near ``a[0]``. ``a`` is the boundary loop of an existing surface
    (the surface on its left, as :func:`boundary_loops` gives it): the band uses a's edges backwards and b's
    forwards, so ``b`` is then the boundary loop of the extended surface."""
    ta, tb = arc_params(pa), arc_params(pb)
    # shift b's parameters so that its start lines up with a's start
    shift = tb[0]
    tb = (tb - shift) % 1.0
    na, nb = len(a), len(b)
    i = j = 0
    faces = []
    while i < na or j < nb:
        ta_next = ta[(i + 1) % na] if i + 1 < na else 1.0
        tb_next = tb[(j + 1) % nb] if j + 1 < nb else 1.0
        if j >= nb or (i < na and ta_next <= tb_next):
            faces.append((a[(i + 1) % na], a[i % na], b[j % nb]))
            i += 1
        else:
            faces.append((a[i % na], b[j % nb], b[(j + 1) % nb]))
            j += 1
    return np.array(faces, dtype=np.int64)


def align_loop(reference: np.ndarray, loop_points: np.ndarray) -> np.ndarray:
    """Index order for ``loop_points`` (a closed loop) that starts nearest ``reference[0]`` and runs in
    the same sense as ``reference``."""
    n = len(loop_points)
    start = int(np.argmin(np.linalg.norm(loop_points - reference[0], axis=1)))
    fwd = (start + np.arange(n)) % n
    bwd = (start - np.arange(n)) % n
    probe = reference[len(reference) // 4]
    k = max(1, n // 4)
    return fwd if np.linalg.norm(loop_points[fwd[k]] - probe) <= np.linalg.norm(loop_points[bwd[k]] - probe) else bwd


def icosphere(level: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere (vertices, outward faces); vertices are symmetric, so their mean is the origin."""
    t = (1 + 5 ** 0.5) / 2
    v = np.array([[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
                  [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=np.float64)
    f = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
                  [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5],
                  [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]], dtype=np.int64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for _ in range(level):
        e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        uniq, inv = np.unique(e, axis=0, return_inverse=True)
        mid = v[uniq].mean(1)
        mid /= np.linalg.norm(mid, axis=1, keepdims=True)
        m = inv.reshape(3, -1).T + len(v)  # (F, 3): edges (0,1), (1,2), (2,0)
        a, b, c = f.T
        f = np.concatenate([np.stack([a, m[:, 0], m[:, 2]], 1), np.stack([m[:, 0], b, m[:, 1]], 1),
                            np.stack([m[:, 2], m[:, 1], c], 1), np.stack([m[:, 0], m[:, 1], m[:, 2]], 1)])
        v = np.concatenate([v, mid])
    return v, f


def flood_fill(faces: np.ndarray, seed: int, blocked_edges: set[tuple[int, int]]) -> np.ndarray:
    """Faces reachable from face ``seed`` across edges not in ``blocked_edges`` (undirected (min, max))."""
    from collections import defaultdict, deque

    by_edge: dict[tuple[int, int], list[int]] = defaultdict(list)
    for fi, f in enumerate(faces):
        for k in range(3):
            a, b = int(f[k]), int(f[(k + 1) % 3])
            by_edge[(min(a, b), max(a, b))].append(fi)
    seen = np.zeros(len(faces), bool)
    seen[seed] = True
    queue = deque([seed])
    while queue:
        fi = queue.popleft()
        f = faces[fi]
        for k in range(3):
            a, b = int(f[k]), int(f[(k + 1) % 3])
            e = (min(a, b), max(a, b))
            if e in blocked_edges:
                continue
            for g in by_edge[e]:
                if not seen[g]:
                    seen[g] = True
                    queue.append(g)
    return np.flatnonzero(seen)


def face_normals(v: np.ndarray, f: np.ndarray, unit: bool = True) -> np.ndarray:
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30) if unit else n


def signed_volume(v: np.ndarray, f: np.ndarray) -> float:
    """Signed volume enclosed by a closed mesh (positive when its faces point outward)."""
    return float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0)


def _angle_at(p, q, r) -> float:
    """Angle at p of triangle (p, q, r); points are 3-tuples of floats."""
    ux, uy, uz = q[0] - p[0], q[1] - p[1], q[2] - p[2]
    wx, wy, wz = r[0] - p[0], r[1] - p[1], r[2] - p[2]
    nu = math.sqrt(ux * ux + uy * uy + uz * uz)
    nw = math.sqrt(wx * wx + wy * wy + wz * wz)
    c = (ux * wx + uy * wy + uz * wz) / max(nu * nw, 1e-30)
    return math.acos(min(1.0, max(-1.0, c)))


def delaunay_flips(v: np.ndarray, faces: np.ndarray, frozen: set[tuple[int, int]], max_passes: int = 30) -> np.ndarray:
    """Flip edges (not in ``frozen``, undirected (min, max)) whose two opposite angles sum past pi, keeping
    orientation and never folding a triangle over: an intrinsic-Delaunay clean-up of sliver triangles."""
    f = [list(map(int, t)) for t in faces]
    pts = [tuple(map(float, p)) for p in v]
    for _ in range(max_passes):
        owner: dict[tuple[int, int], int] = {}
        for fi, t in enumerate(f):
            for k in range(3):
                owner[(t[k], t[(k + 1) % 3])] = fi
        flipped = 0
        done: set[int] = set()
        for (a, b), f1 in list(owner.items()):
            if a > b or (a, b) in frozen:
                continue
            f2 = owner.get((b, a))
            if f2 is None or f1 in done or f2 in done:
                continue
            t1, t2 = f[f1], f[f2]
            if not ((t1[0], t1[1]) == (a, b) or (t1[1], t1[2]) == (a, b) or (t1[2], t1[0]) == (a, b)):
                continue
            c = next(x for x in t1 if x not in (a, b))
            d = next(x for x in t2 if x not in (a, b))
            if c == d or (c, d) in owner or (d, c) in owner:
                continue
            if _angle_at(pts[c], pts[a], pts[b]) + _angle_at(pts[d], pts[a], pts[b]) <= math.pi + 1e-9:
                continue
            n_old = np.cross(v[b] - v[a], v[c] - v[a]) + np.cross(v[a] - v[b], v[d] - v[b])
            n1 = np.cross(v[d] - v[a], v[c] - v[a])
            n2 = np.cross(v[b] - v[d], v[c] - v[d])
            if n1 @ n_old <= 0 or n2 @ n_old <= 0:
                continue
            f[f1], f[f2] = [a, d, c], [d, b, c]
            done.update((f1, f2))
            flipped += 1
        if not flipped:
            break
    return np.array(f, dtype=np.int64)
