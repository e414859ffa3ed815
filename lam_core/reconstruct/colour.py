"""Colours of the surface points from the photo.

Points are projected with the photo camera; a coarse z-buffer of the points themselves decides visibility
(a point is seen if nothing in its cell is clearly in front of it and it faces the camera); seen points
inside the person mask take the photo's colour (bilinear). Unseen points more than a few mesh edges from a
seen one take the colour of their mirror image across the face's symmetry plane when that one was seen, and
the rest is filled smoothly over the mesh (harmonic interpolation: each unknown colour is the mean of its neighbours).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from ..camera import Camera

MIN_FACING = 0.25      # cosine between normal and the direction to the camera for a point to count as seen
DEPTH_TOLERANCE = 0.006  # metres behind the nearest point of its cell a point may lie and still be seen
NEAR_HOPS = 3            # unseen points this many mesh edges from a seen one are filled, not mirrored
CARRY_HOPS = 8           # a part's colour is carried onto unseen points this many edges from a seen one ...
MIN_PART_POINTS = 20     # ... when the photo shows at least this many of the part's points
MASK_MARGIN_PX = 3.0     # seen points must lie this far inside the person mask (its edge is soft and coarse)


def bilinear(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample (H, W, C) at pixel coordinates (u, v) (pixel centres at +0.5)."""
    h, w = image.shape[:2]
    x = np.clip(u - 0.5, 0, w - 1)
    y = np.clip(v - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = image.reshape(h, w, -1)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def facing(points: np.ndarray, normals: np.ndarray, camera: Camera) -> np.ndarray:
    """(N,) the cosine between each unit normal and the direction from its point to the camera."""
    to_cam = camera.position - points
    return (normals * to_cam).sum(1) / np.linalg.norm(to_cam, axis=1).clip(1e-12)


def visible(points: np.ndarray, normals: np.ndarray, camera: Camera, cell_px: float,
            min_facing: float | np.ndarray = MIN_FACING) -> np.ndarray:
    """(N,) bool: points in the image, facing the camera (cosine above ``min_facing``, scalar or per point), and
    not hidden behind other points."""
    uvz = camera.project(points)
    u, v, z = uvz.T
    inside = (z > 0) & (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    cos = facing(points, normals, camera)
    cols = int(np.ceil(camera.width / cell_px))
    rows = int(np.ceil(camera.height / cell_px))
    cell = np.where(inside, (np.clip(v, 0, camera.height - 1) // cell_px).astype(int) * cols
                    + (np.clip(u, 0, camera.width - 1) // cell_px).astype(int), 0)
    zbuf = np.full(rows * cols, np.inf)
    np.minimum.at(zbuf, cell[inside], z[inside])
    return inside & (cos > min_facing) & (z <= zbuf[cell] + DEPTH_TOLERANCE)


def mirror_index(points: np.ndarray) -> np.ndarray:
    """For each point, the nearest point to its mirror image across x = 0 (the head's symmetry plane)."""
    mirrored = points * np.array([-1.0, 1.0, 1.0])
    return cKDTree(points).query(mirrored)[1]


def mesh_adjacency(n: int, faces: np.ndarray) -> sp.csr_matrix:
    """(n, n) 0/1: which points share a mesh edge."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    a = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    return ((a + a.T) > 0).astype(np.float64)


def hop_distance(selected: np.ndarray, faces: np.ndarray, max_hops: int) -> np.ndarray:
    """(N,) int: how many mesh edges each point is from a ``selected`` one (0 on them); max_hops + 1 for
    points farther than ``max_hops``."""
    adj = mesh_adjacency(len(selected), faces)
    dist = np.where(selected, 0, max_hops + 1)
    reached = selected.copy()
    for hop in range(1, max_hops + 1):
        reached = reached | (adj @ reached.astype(np.float64) > 0)
        dist[reached & (dist > hop)] = hop
    return dist


def mesh_laplacian(n: int, faces: np.ndarray) -> sp.csr_matrix:
    a = mesh_adjacency(n, faces)
    return (sp.diags(np.asarray(a.sum(1)).ravel()) - a).tocsr()


def harmonic_fill(values: np.ndarray, known: np.ndarray, faces: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Fill unknown rows of ``values`` (N, C) so each is the mean of its mesh neighbours; mesh components
    with no known value take ``default``."""
    n = len(values)
    lap = mesh_laplacian(n, faces)
    out = values.astype(np.float64).copy()
    unknown = ~known
    if not unknown.any():
        return out
    ncomp, label = connected_components(lap, directed=False)
    has_known = np.bincount(label[known], minlength=ncomp) > 0
    orphan = unknown & ~has_known[label]
    out[orphan] = default
    solve = unknown & ~orphan
    if solve.any():
        iu, ik = np.flatnonzero(solve), np.flatnonzero(~solve)
        a = lap[iu][:, iu].tocsc()
        b = -lap[iu][:, ik] @ out[ik]
        out[iu] = spsolve(a, b).reshape(len(iu), -1)
    return out


def photo_colours(points: np.ndarray, normals: np.ndarray, faces: np.ndarray, canonical: np.ndarray,
                  camera: Camera, rgb: np.ndarray, mask: np.ndarray, default=(0.5, 0.4, 0.35),
                  cell_px: float | None = None, margin_px: float | np.ndarray = MASK_MARGIN_PX,
                  carry: tuple[tuple[np.ndarray, np.ndarray], ...] = (),
                  min_facing: float | np.ndarray = MIN_FACING) -> tuple[np.ndarray, np.ndarray]:
    """Colours (N, 3) in [0, 1] for surface points posed as in the photo (``points``, ``normals``), with
    ``canonical`` (N, 3) rest positions for the symmetry. ``margin_px`` (scalar or per point): how far
    inside the person mask a point must project to take the photo's colour. ``carry``: pairs of point masks
    (part, onto): the unseen points of ``onto`` more than CARRY_HOPS mesh edges from any seen point take the
    median seen colour of ``part`` (the hair's colour carried round the back of the head), so the smooth fill
    blends from the seen edge into the part's own colour, not into one global average of everything seen.
    ``min_facing`` (scalar or per point): see :func:`visible`.
    Returns (colours, seen mask)."""
    image = rgb.astype(np.float64) / 255.0
    uvz = camera.project(points)
    if cell_px is None:  # a little coarser than the projected point spacing, so surfaces have no gaps
        cell_px = 2.0
    seen = visible(points, normals, camera, cell_px, min_facing)
    inside = ndimage.distance_transform_edt(mask > 0.5)
    seen &= bilinear(inside[..., None], uvz[:, 0], uvz[:, 1])[:, 0] >= margin_px
    colours = np.zeros((len(points), 3))
    colours[seen] = bilinear(image, uvz[seen, 0], uvz[seen, 1])
    mirror = mirror_index(canonical)
    # a thin unseen band between seen points (the side of the nose, the fold under it) is filled from its
    # own neighbours; the mirror image, lit from the other side, would draw a seam along it
    hops = hop_distance(seen, faces, max(NEAR_HOPS, CARRY_HOPS))
    from_mirror = ~seen & seen[mirror] & (hops > NEAR_HOPS)
    colours[from_mirror] = colours[mirror[from_mirror]]
    known = seen | from_mirror
    far = ~known & (hops > CARRY_HOPS)
    for part, onto in carry:
        source = seen & part
        if source.sum() >= MIN_PART_POINTS:
            sel = far & onto
            colours[sel] = np.median(colours[source], axis=0)
            known = known | sel
    return np.clip(harmonic_fill(colours, known, faces, np.asarray(default)), 0, 1), seen
