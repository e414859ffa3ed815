"""The inside parts of the open head: eyeballs in cup-shaped sockets behind the lid openings, the mouth
cavity behind the lips, and two rows of teeth.

A socket or the mouth cavity is a pocket grown from an opening's boundary loop: rings that sweep the loop's
directions (seen from the pocket's centre) round an ellipsoid towards its back pole, then a fan to the pole.
Eyeballs and teeth are separate closed meshes.

Lengths in metres; constants in centimetres (``CM``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh_ops import icosphere, resample_loop, zip_loops

CM = 0.01
EYE_RADIUS = 1.2 * CM
EYE_GAP = 0.1 * CM            # lids and socket stay this far outside the eyeball
IRIS_RADIUS = 0.58 * CM
EYE_LEVEL = 2                 # icosphere level of an eyeball: 162 vertices
# pocket rings: (sweep from the opening towards the back pole, share of the opening's points, radius scale)
SOCKET_RINGS = ((0.12, 1.0, 1.0), (0.35, 0.7, 1.15), (0.62, 0.45, 1.25), (0.85, 0.25, 1.25))
POLE_SCALE = 1.25
MOUTH_CENTRE = np.array([0.0, -4.3, 1.6]) * CM
MOUTH_AXES = np.array([2.9, 2.4, 3.5]) * CM
MOUTH_RINGS = ((0.08, 1.0, 1.0), (0.22, 0.9, 1.0), (0.38, 0.75, 1.0), (0.55, 0.6, 1.0), (0.72, 0.45, 1.0),
               (0.88, 0.25, 1.0))
TEETH_HALF_WIDTH = 1.9 * CM
TEETH_SEGMENTS = 16
TOOTH_HEIGHT = 0.95 * CM
TOOTH_DEPTH = 0.45 * CM
TEETH_BEHIND_LIPS = (0.8 * CM, 0.9 * CM)   # upper, lower: teeth fronts behind the inner lip contour
TEETH_GAP = 0.04 * CM


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Unit directions a (N, 3) turned by the fraction t of their great-circle angle towards b (3,)."""
    cos = np.clip(a @ b, -1.0, 1.0)
    ang = np.arccos(cos)[:, None]
    perp = b[None, :] - cos[:, None] * a
    perp /= np.maximum(np.linalg.norm(perp, axis=1, keepdims=True), 1e-12)
    return np.cos(t * ang) * a + np.sin(t * ang) * perp


@dataclass
class Pocket:
    vertices: np.ndarray   # (n, 3) new vertices
    faces: np.ndarray      # (m, 3) in the combined numbering
    rings: list[np.ndarray]  # combined ids of each ring (the pole last)


def grow_pocket(loop: np.ndarray, loop_points: np.ndarray, centre: np.ndarray, axes: np.ndarray,
                back: np.ndarray, rings: tuple[tuple[float, float, float], ...], first_id: int,
                pole_scale: float = 1.0) -> Pocket:
    """A closed pocket on the boundary loop ``loop`` (surface on its left, positions ``loop_points``): the
    loop's directions from ``centre``, measured in the ellipsoid's normalised space, sweep towards ``back``;
    each ring lies on the ellipsoid (scaled by its ring's factor). New vertices are numbered from ``first_id``."""
    d = _unit((loop_points - centre) / axes)
    verts, faces, ring_ids = [], [], []
    cur_ids, cur_pts = np.asarray(loop), loop_points
    nid = first_id
    for t, share, scale in rings:
        ring = centre + _slerp(d, back, t) * axes * scale
        n = max(3, int(round(len(loop) * share)))
        pts = resample_loop(ring, n)  # starts at loop point 0's sweep and runs the loop's way
        ids = nid + np.arange(n)
        faces.append(zip_loops(cur_ids, cur_pts, ids, pts))
        verts.append(pts)
        ring_ids.append(ids)
        nid += n
        cur_ids, cur_pts = ids, pts
    pole = centre + back * axes * pole_scale
    verts.append(pole[None])
    pid = nid
    faces.append(np.stack([np.roll(cur_ids, -1), cur_ids, np.full(len(cur_ids), pid)], 1))
    ring_ids.append(np.array([pid]))
    return Pocket(np.concatenate(verts), np.concatenate(faces).astype(np.int64), ring_ids)


def eye_centre(lid_points: np.ndarray) -> np.ndarray:
    """Centre of an eyeball behind a lid opening: under the opening's centroid, pushed back (-z) until every
    lid point is EYE_GAP outside the eyeball."""
    g = lid_points.mean(0)
    need = EYE_RADIUS + EYE_GAP
    lo, hi = -1.0 * CM, 3.0 * CM
    for _ in range(60):
        t = (lo + hi) / 2
        c = g - np.array([0.0, 0.0, t])
        if np.linalg.norm(lid_points - c, axis=1).min() >= need:
            hi = t
        else:
            lo = t
    return g - np.array([0.0, 0.0, hi])


def eyeball(centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v, f = icosphere(EYE_LEVEL)
    return centre + EYE_RADIUS * v, f


def iris_points(centre: np.ndarray, directions) -> np.ndarray:
    """The iris landmarks on an eyeball looking along +z: centre, then the rim towards each direction."""
    theta = np.arcsin(IRIS_RADIUS / EYE_RADIUS)
    out = []
    for dx, dy in directions:
        u = np.array([dx, dy, 0.0])
        d = np.array([0.0, 0.0, 1.0]) if not u.any() else np.cos(theta) * np.array([0, 0, 1.0]) + np.sin(theta) * u
        out.append(centre + EYE_RADIUS * d)
    return np.array(out)


def teeth_row(occlusal_y: float, front_z: float, upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """A row of teeth as one closed, curved slab along a parabolic arch (outward faces)."""
    x = np.linspace(-TEETH_HALF_WIDTH, TEETH_HALF_WIDTH, TEETH_SEGMENTS + 1)
    back_z = front_z - 1.5 * CM
    zc = front_z - (front_z - back_z) * (x / (TEETH_HALF_WIDTH * 1.08)) ** 2
    dzdx = -2 * (front_z - back_z) * x / (TEETH_HALF_WIDTH * 1.08) ** 2
    nrm = _unit(np.stack([-dzdx, np.zeros_like(x), np.ones_like(x)], 1))  # outward (labial) normal in xz
    edge = occlusal_y + (TEETH_GAP if upper else -TEETH_GAP)
    root = edge + (TOOTH_HEIGHT if upper else -TOOTH_HEIGHT)
    centre = np.stack([x, np.zeros_like(x), zc], 1)
    # cross-section corners: labial-edge, labial-root, lingual-root, lingual-edge
    corners = [(0.0, edge), (0.0, root), (-TOOTH_DEPTH, root), (-TOOTH_DEPTH, edge)]
    rings = [centre + nrm * off + np.array([0.0, y, 0.0]) for off, y in corners]
    v = np.stack(rings, 1).reshape(-1, 3)  # vertex (i, k) at 4 i + k
    faces = []
    n = len(x)
    for i in range(n - 1):
        for k in range(4):
            a, b = 4 * i + k, 4 * i + (k + 1) % 4
            c, d = 4 * (i + 1) + (k + 1) % 4, 4 * (i + 1) + k
            faces += [(a, b, c), (a, c, d)]
    faces += [(0, 3, 2), (0, 2, 1)]
    last = 4 * (n - 1)
    faces += [(last, last + 1, last + 2), (last, last + 2, last + 3)]
    f = np.array(faces, dtype=np.int64)
    # orient outward: the slab's volume must be positive
    vol = np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum()
    if vol < 0:
        f = f[:, ::-1]
    return v, f
