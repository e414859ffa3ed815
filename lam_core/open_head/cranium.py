"""The procedural cranium and neck that close the face into a whole head.

The head is star-shaped about a centre point: every ray from it leaves the surface once. The cranium is the
zero set of a smooth union of simple solids (skull ellipsoid, jaw ellipsoid, neck cylinder), bent near the
face so that it continues the face's own surface smoothly (the face's radial offset from the cranium,
interpolated over the sphere of directions and tapered to nothing a few centimetres away). Its vertices are
spread evenly over the surface by farthest-point sampling; they are connected by the convex hull of their
directions (a spherical Delaunay triangulation), cut along the face's outer boundary and the neck opening.

Lengths are in metres; the constants are written in centimetres (``CM``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh_ops import delaunay_flips, flood_fill

CM = 0.01
CENTRE = np.array([0.0, 0.0, -3.0]) * CM          # the point the head is star-shaped about
SKULL_CENTRE = np.array([0.0, 2.4, -3.3]) * CM
SKULL_AXES = np.array([7.7, 10.9, 9.8]) * CM
JAW_CENTRE = np.array([0.0, -5.0, -0.8]) * CM
JAW_AXES = np.array([6.0, 6.6, 6.2]) * CM
NECK_CENTRE = np.array([0.0, -4.4]) * CM           # (x, z) of the neck's axis at NECK_TILT_FROM
NECK_TILT = 0.12                                    # the axis leans forward going down (z per y)
NECK_TILT_FROM = -8.0 * CM
NECK_AXES = np.array([5.5, 5.7]) * CM               # half-width (x), half-depth (z)
NECK_FLARE = 0.9 * CM                               # extra radius at the base (towards the shoulders)
NECK_TOP = 2.0 * CM
NECK_BASE = -18.0 * CM                              # y of the neck opening
BLEND = 2.2 * CM                                    # smooth-union radius
FACE_BLEND = 5.0 * CM                               # how far the face's shape carries into the cranium


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def _ellipsoid(p: np.ndarray, centre: np.ndarray, axes: np.ndarray) -> np.ndarray:
    q = (p - centre) / axes
    return (np.linalg.norm(q, axis=-1) - 1.0) * axes.min()


def neck_axes_at(y: np.ndarray) -> np.ndarray:
    """(.., 2) half-width and half-depth of the neck at height y (flaring towards its base)."""
    t = np.clip((-11.0 * CM - y) / (-11.0 * CM - NECK_BASE), 0.0, 1.0)
    return NECK_AXES + NECK_FLARE * (t ** 2)[..., None]


def neck_axis_z(y: np.ndarray) -> np.ndarray:
    return NECK_CENTRE[1] + NECK_TILT * np.maximum(NECK_TILT_FROM - y, 0.0)


def _neck(p: np.ndarray) -> np.ndarray:
    axes = neck_axes_at(p[..., 1])
    q = np.stack([p[..., 0] - NECK_CENTRE[0], p[..., 2] - neck_axis_z(p[..., 1])], -1) / axes
    side = (np.linalg.norm(q, axis=-1) - 1.0) * axes.min(-1)
    top = p[..., 1] - NECK_TOP
    return np.maximum(side, top)


def cranium_field(p: np.ndarray) -> np.ndarray:
    """Signed field of the procedural head (negative inside), metres, p (..., 3)."""
    f = _smin(_ellipsoid(p, SKULL_CENTRE, SKULL_AXES), _ellipsoid(p, JAW_CENTRE, JAW_AXES), BLEND)
    return _smin(f, _neck(p), BLEND)


def cranium_radius(dirs: np.ndarray, r_max: float = 0.45, steps: int = 48) -> np.ndarray:
    """Distance from CENTRE to the procedural surface along unit directions (N, 3): the outermost crossing."""
    r = np.linspace(0.0, r_max, steps)
    f = cranium_field(CENTRE + dirs[:, None, :] * r[None, :, None])  # (N, steps)
    inside = f < 0
    last = steps - 1 - np.argmax(inside[:, ::-1], axis=1)  # last inside sample
    lo, hi = r[last], r[np.minimum(last + 1, steps - 1)]
    for _ in range(28):
        mid = (lo + hi) / 2
        out = cranium_field(CENTRE + dirs * mid[:, None]) >= 0
        hi = np.where(out, mid, hi)
        lo = np.where(out, lo, mid)
    return (lo + hi) / 2


def fibonacci_directions(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5 ** 0.5) * i
    return np.stack([np.sin(phi) * np.cos(theta), np.cos(phi), np.sin(phi) * np.sin(theta)], 1)


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


class FaceBlend:
    """The face's radial offset from the procedural cranium, continued smoothly past the face's outer
    boundary and tapered to zero ``FACE_BLEND`` away from it."""

    def __init__(self, face_points: np.ndarray, oval_points: np.ndarray):
        from scipy.interpolate import RBFInterpolator
        from scipy.spatial import cKDTree

        d = _unit(face_points - CENTRE)
        resid = np.linalg.norm(face_points - CENTRE, axis=1) - cranium_radius(d)
        self._rbf = RBFInterpolator(d, resid, kernel="thin_plate_spline", smoothing=1e-6, degree=1)
        self._oval = cKDTree(oval_points)

    def surface(self, dirs: np.ndarray) -> np.ndarray:
        """Points of the blended head surface along unit directions (N, 3)."""
        r = cranium_radius(dirs)
        p0 = CENTRE + dirs * r[:, None]
        dist, _ = self._oval.query(p0)
        t = np.clip(1.0 - dist / FACE_BLEND, 0.0, 1.0)
        taper = t * t * (3 - 2 * t)
        return CENTRE + dirs * (r + taper * self._rbf(dirs))[:, None]


def _stereo(dirs: np.ndarray, pole: np.ndarray) -> np.ndarray:
    """Stereographic coordinates of unit directions seen from ``-pole`` (``pole`` maps to the origin)."""
    helper = np.array([0.0, 1.0, 0.0]) if abs(pole[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = _unit(np.cross(helper, pole))
    e2 = np.cross(pole, e1)
    s = 1.0 + dirs @ pole
    return np.stack([dirs @ e1, dirs @ e2], 1) / s[:, None]


def _inside_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd test of 2D points (N, 2) against a closed polygon (M, 2)."""
    x, y = points[:, :1], points[:, 1:]
    a, b = polygon, np.roll(polygon, -1, axis=0)
    straddle = (a[None, :, 1] > y) != (b[None, :, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_x = a[None, :, 0] + (y - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (b[None, :, 1] - a[None, :, 1])
    return ((straddle & (x < cross_x)).sum(1) % 2) == 1


def _encroaching(dirs: np.ndarray, loops: list[np.ndarray]) -> np.ndarray:
    """Which directions lie inside the smallest spherical circle of a loop edge: removing them makes every
    loop edge a Gabriel edge, hence an edge of the spherical Delaunay triangulation."""
    bad = np.zeros(len(dirs), bool)
    for loop in loops:
        a, b = loop, np.roll(loop, -1, axis=0)
        m = _unit(a + b)
        cos_r = (m * a).sum(1)
        bad |= ((dirs @ m.T) > cos_r[None, :] - 1e-9).any(1)
    return bad


@dataclass(frozen=True, eq=False)
class CraniumPart:
    vertices: np.ndarray   # (Vc, 3) the new vertices: rim first, then the rest
    faces: np.ndarray      # (Fc, 3) indices into [face vertices, new vertices]
    rim: np.ndarray        # ids (in the combined numbering) of the neck opening's loop


def neck_rim(spacing: float) -> np.ndarray:
    a, b = neck_axes_at(np.array(NECK_BASE))
    perim = np.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))
    n = int(round(perim / spacing))
    t = 2 * np.pi * np.arange(n) / n
    return np.stack([NECK_CENTRE[0] + a * np.sin(t), np.full(n, NECK_BASE), neck_axis_z(np.array(NECK_BASE)) + b * np.cos(t)], 1)


def build_cranium(face_vertices: np.ndarray, face_faces: np.ndarray, oval: np.ndarray, n_samples: int,
                  spacing: float, near_oval_rings: int = 3) -> CraniumPart:
    """Cranium and neck joined to the face's outer boundary loop ``oval`` (ids into ``face_vertices``)."""
    from scipy.spatial import ConvexHull, cKDTree

    from .mesh_ops import adjacency

    nf = len(face_vertices)
    # face vertices within a few rings of the boundary drive the blend
    adj = adjacency(face_faces, nf)
    near = np.zeros(nf, bool)
    near[oval] = True
    for _ in range(near_oval_rings):
        near = near | (adj @ near.astype(float) > 0)
    blend = FaceBlend(face_vertices[near], face_vertices[oval])

    oval_dirs = _unit(face_vertices[oval] - CENTRE)
    pole = _unit(oval_dirs.mean(0))
    cand = fibonacci_directions(30000)
    cand = cand[~_inside_polygon(_stereo(cand, pole), _stereo(oval_dirs, pole)) & (cand @ pole < 0.999)]
    pts = blend.surface(cand)
    rim = neck_rim(spacing)
    keep = (pts[:, 1] > NECK_BASE + 0.45 * spacing) & ~_encroaching(cand, [oval_dirs, _unit(rim - CENTRE)])
    cand, pts = cand[keep], pts[keep]
    # farthest-point sampling, seeded by what is already there (the face and the rim)
    seeds = np.concatenate([face_vertices, rim])
    d2 = cKDTree(seeds).query(pts)[0] ** 2
    px, py, pz = (np.ascontiguousarray(c) for c in pts.T)
    chosen = []
    for _ in range(n_samples):
        k = int(np.argmax(d2))
        chosen.append(k)
        np.minimum(d2, (px - px[k]) ** 2 + (py - py[k]) ** 2 + (pz - pz[k]) ** 2, out=d2)
    samples = pts[chosen]

    new_pts = np.concatenate([rim, samples])
    n_rim = len(rim)
    rim_ids = nf + np.arange(n_rim)
    ring_ids = np.concatenate([oval, rim_ids])
    all_pts = np.concatenate([face_vertices[oval], new_pts])
    dirs = _unit(all_pts - CENTRE)
    hull = ConvexHull(dirs)
    tri = hull.simplices.copy()
    normal = np.cross(dirs[tri[:, 1]] - dirs[tri[:, 0]], dirs[tri[:, 2]] - dirs[tri[:, 0]])
    flip = (normal * dirs[tri].mean(1)).sum(1) < 0
    tri[flip] = tri[flip][:, ::-1]
    ids = np.concatenate([oval, nf + np.arange(len(new_pts))])  # local -> combined numbering
    tri = ids[tri]
    loops = [oval, rim_ids]
    blocked = {(min(int(a), int(b)), max(int(a), int(b))) for lp in loops for a, b in zip(lp, np.roll(lp, -1))}
    present = {(min(int(a), int(b)), max(int(a), int(b))) for f in tri for a, b in zip(f, np.roll(f, -1))}
    missing = blocked - present
    if missing:
        raise RuntimeError(f"cranium triangulation misses {len(missing)} boundary edges")
    back = nf + n_rim + int(np.argmin(samples @ np.array([0.0, 0.3, -1.0])))
    seed = int(np.flatnonzero((tri == back).any(1))[0])
    faces = tri[flood_fill(tri, seed, blocked)]
    faces = delaunay_flips(np.concatenate([face_vertices, new_pts]), faces, blocked)
    del ring_ids
    return CraniumPart(vertices=new_pts, faces=faces, rim=rim_ids)
