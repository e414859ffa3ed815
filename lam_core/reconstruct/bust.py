"""The rest of the bust: neck base, shoulders and upper torso, built from the person's silhouette.

Below the chin the photo shows what the head model lacks. Each image row of the person's silhouette from
the chin down becomes a horizontal ring of the body: as wide as the silhouette (so the front view matches
the photo exactly), centred on its row's middle, on a vertical axis through the neck joint at the neck's
depth, and as deep as an adult body of that width is (round at the neck, flatter across the shoulders:
anthropometric proportions, not fitted to any photo), turned as the shoulders are (lam_core.photo.pose).
The rings are open at the bottom, where the bust fades out (as LAM's avatars do), skinned to the root joint
alone (the head turns on its neck while the shoulders stay) and carry no expression.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from ..camera import Camera
from ..params import FrameParams
from ..rig import Rig

NECK_RADIUS = 0.06          # metres: narrower parts of the silhouette are round (a neck)
DEPTH_SLOPE = 0.45          # beyond that, each extra metre of half-width adds this much half-depth
MAX_HALF_DEPTH = 0.13       # ... up to an adult chest's (26 cm deep): arms and held things widen a row, not the torso
BACK_COARSENESS = 2.5       # point spacing on the back / on the front
BASE_VERTICES = 1500        # the bust's share of the base mesh (before subdivision)
MIN_FRONT, MIN_BACK = 12, 8  # points on a ring's front half and on its back, at the least (fewer tilt the normals at
                            # a narrow ring's sides backwards, and the photo no longer sees its outline)
MAX_DROP_FACES = 4.0        # the bust ends this many face heights (chin to brow) below the chin at most
FADE_FACES = 0.3            # the bust fades out over its lowest 0.3 face heights (the face region, chin to hairline)
BODY_NEIGHBOURS = 4         # the body's discs are sized by the distance to their 4th-nearest point
SIDE_SHARE = 0.25            # the back's colour at each height: the outer quarter of the seen body on each side
CARRY_SMOOTH_BINS = 9        # ... its medoid over this many heights (1 cm each): no stripes, steps kept
EDGE_SLACK_PX = 3            # the body keeps out of silhouette gaps wider than twice this
HEAD_TUCK_PX = 2             # above the chin, the rings keep what lies beside the head and this far under its edge
MIN_BESIDE_PX = 30           # ... when the silhouette shows at least this much beside the head there
EAR_HALF_DEPTH = 0.015       # metres: an ear standing out past the head is a piece this deep either side of its rim
FRAME_PX = 2.0              # a body reaching this close to the photo's lower edge is cut by it and closed by a lid
LID_CLEARANCE = 0.5         # the lid's grid keeps this many cells from its ring
ALPHA_HALF_SIGMAS = 1.18    # a disc facing the camera covers (alpha > 0.5) sqrt(2 ln 2) sigmas round its point
CHIN = 152                  # MediaPipe landmark at the bottom of the chin
EYES = [33, 263]            # MediaPipe landmarks at the eyes' outer corners: the rings start no higher
ROOT = 0


class BodyRings(NamedTuple):
    """The body's mesh: ``points`` (N, 3) ring after ring, each ring from its right edge in the photo with its
    front half first; ``faces`` (F, 3) wound outwards; ``centres`` (R, 3) the rings' centres on their axis;
    ``ring`` (N,) each point's ring; ``around`` (N,) its place round its ring in turns from the right edge
    (the front half [0, 0.5), the back [0.5, 1))."""
    points: np.ndarray
    faces: np.ndarray
    centres: np.ndarray
    ring: np.ndarray
    around: np.ndarray


def _half_depth(half_width: np.ndarray) -> np.ndarray:
    deep = np.where(half_width <= NECK_RADIUS, half_width, NECK_RADIUS + DEPTH_SLOPE * (half_width - NECK_RADIUS))
    return np.minimum(deep, MAX_HALF_DEPTH)


def _rows(sil: np.ndarray, v0: float, v1: float, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image rows between v0 and v1 that hold silhouette, each with its left and right edge (pixels)."""
    vs = np.linspace(v0, v1, n)
    out_v, left, right = [], [], []
    for v in vs:
        r = int(np.clip(v, 0, sil.shape[0] - 1))
        xs = np.flatnonzero(sil[r])
        if len(xs) < 2:
            continue
        out_v.append(v)
        left.append(xs[0])
        right.append(xs[-1] + 1.0)
    return np.array(out_v), np.array(left, float), np.array(right, float)


def turned_axes(half_width: np.ndarray, yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """Semi-axes (A across the body, B = _half_depth(A) front to back) of rings turned by ``yaw`` about the
    vertical whose front view is ``half_width`` wide: sqrt(A^2 cos^2 yaw + B^2 sin^2 yaw) = half_width (the
    half-width of a turned ellipse seen along z). That grows with A, between half_width and
    half_width / cos(yaw): bisection. Round rows (a neck: B = A) keep A = half_width."""
    a = np.asarray(half_width, np.float64)
    if yaw == 0.0:
        return a, _half_depth(a)
    c, s = np.cos(yaw), np.sin(yaw)
    lo, hi = a.copy(), a / abs(c)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        wide = np.sqrt((mid * c) ** 2 + (_half_depth(mid) * s) ** 2) < a
        lo, hi = np.where(wide, mid, lo), np.where(wide, hi, mid)
    big = 0.5 * (lo + hi)
    return big, _half_depth(big)


def _turned_rings(a: np.ndarray, xc: np.ndarray, depth: float, yaw: float, n_front: np.ndarray, n_back: np.ndarray):
    """Rings of front-view half-width ``a`` about centres ``xc`` (camera x, metres at ``depth``), turned by
    ``yaw``, ring r with ``n_front[r]`` points on its front half and ``n_back[r]`` on its back: every point's
    camera-frame x and z offsets from its ring's centre (ring after ring, each from its right edge, front half
    first), its ring's index, and the (R,) centres' x.

    A ring is the ellipse p(t) = centre + A cos t (cos yaw, sin yaw) + B sin t (sin yaw, -cos yaw) in the
    camera's (x, z): its across axis turned by yaw (positive: the image's right side farther), its front
    (t = pi/2) facing the camera when yaw = 0. Its rightmost and leftmost points (t0 and t0 + pi, tan t0 =
    B sin yaw / (A cos yaw)) lie delta = sin cos (A^2 - B^2) / a farther and nearer than the centre, so seen
    through the camera they would shift sideways: the centre and the half-width are set so that those two
    points project onto the row's silhouette edges (a few fixed-point steps; exactly today's rings when
    yaw = 0). The front half, sampled finer, is the one between them facing the camera (t0 to t0 + pi)."""
    x_l, x_r = xc - a, xc + a
    wide, centre = a, xc
    for _ in range(1 if yaw == 0.0 else 6):
        big, small = turned_axes(wide, yaw)
        delta = np.sin(yaw) * np.cos(yaw) * (big ** 2 - small ** 2) / wide
        # (centre + wide) depth / (depth + delta) = x_r and (centre - wide) depth / (depth - delta) = x_l
        wide = np.maximum(a + (x_r + x_l) / 2 * delta / depth, 1e-3)
        centre = xc + a * delta / depth
    big, small = turned_axes(wide, yaw)
    t0 = np.arctan2(small * np.sin(yaw), big * np.cos(yaw))
    ring = np.repeat(np.arange(len(a)), np.asarray(n_front) + np.asarray(n_back))
    t = t0[ring] + 2 * np.pi * ring_positions(n_front, n_back)
    c, s = np.cos(yaw), np.sin(yaw)
    cos_t, sin_t = big[ring] * np.cos(t), small[ring] * np.sin(t)
    dx = cos_t * c + sin_t * s
    dz = cos_t * s - sin_t * c
    return dx, dz, ring, centre


def ring_positions(n_front: np.ndarray, n_back: np.ndarray) -> np.ndarray:
    """Each ring point's place round its ring, in turns from its right edge (ring after ring): the front half
    [0, 0.5) evenly in ``n_front[r]`` steps, the back [0.5, 1) in ``n_back[r]``."""
    out = []
    for nf, nb in zip(np.asarray(n_front), np.asarray(n_back)):
        out += [np.arange(nf) / (2.0 * nf), 0.5 + np.arange(nb) / (2.0 * nb)]
    return np.concatenate(out) if out else np.zeros(0)


def stitch_rings(u: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Triangles joining each ring to the next (``u``: each point's place round its ring, in turns, increasing
    within each ring from 0; ``ring``: its ring's index, rings in order): rings of different point counts, so
    each ring is as fine round as the rings are apart (a narrow neck gets fewer points than the shoulders).
    Walks both rings together, each step advancing the one whose next point comes first (the classic loft)."""
    starts = np.flatnonzero(np.r_[True, np.diff(ring) != 0])
    counts = np.diff(np.r_[starts, len(ring)])
    faces = []
    for r in range(len(starts) - 1):
        a0, na, b0, nb = starts[r], counts[r], starts[r + 1], counts[r + 1]
        ua, ub = np.r_[u[a0:a0 + na], 1.0], np.r_[u[b0:b0 + nb], 1.0]
        i = j = 0
        while i < na or j < nb:
            if j == nb or (i < na and ua[i + 1] <= ub[j + 1]):
                faces.append((a0 + i, b0 + j % nb, a0 + (i + 1) % na))
                i += 1
            else:
                faces.append((a0 + i % na, b0 + j, b0 + (j + 1) % nb))
                j += 1
    return np.array(faces, np.int64).reshape(-1, 3)


def body_rings(camera: Camera, sil: np.ndarray, chin_px: np.ndarray, face_height_px: float,
               axis_world: np.ndarray, yaw: float = 0.0,
               top_px: float | None = None,
               disc_sigma: float = 0.55) -> BodyRings | None:
    """The body's rings (:class:`BodyRings`, in the photo's world frame), or None when the silhouette shows no
    body below the chin. ``yaw``: the torso's turn about the camera's vertical
    (radians, positive when the image's right side is farther: :func:`lam_core.photo.pose.torso_yaw`); the
    front view matches the silhouette whatever it is. ``top_px``: the row the rings start at (default, and at
    the lowest, the chin's). ``disc_sigma``: the sigma of the discs at the body's level edges, in the rings'
    spacings (:func:`body_disc_scales` sizes them once the mesh is subdivided)."""
    w2c = camera.world_to_camera
    axis_cam = w2c[:3, :3] @ axis_world + w2c[:3, 3]
    depth = float(axis_cam[2])
    v_chin = float(chin_px[1])
    v_top = v_chin if top_px is None else min(float(top_px), v_chin)
    v_bottom = min(float(camera.height), v_chin + MAX_DROP_FACES * face_height_px)
    if v_bottom - v_top < 4:
        return None
    # the rings as far apart as their points are round them (square cells) within the bust's vertex budget
    probe_v, pl, pr = _rows(sil, v_top, v_bottom, 32)
    if len(probe_v) < 2:
        return None
    half = (pr - pl) / 2 / camera.fx * depth
    perimeter = np.pi * (half + _half_depth(half))
    height_m = (v_bottom - v_top) / camera.fy * depth
    # the front half at `cell` spacing, the back (which the photo does not show) BACK_COARSENESS times coarser
    weighted = 0.5 * perimeter.mean() * (1 + 1 / BACK_COARSENESS)
    cell = np.sqrt(weighted * height_m / BASE_VERTICES)
    n_rings = int(np.clip(round(height_m / cell), 2, 400))
    # a disc facing the camera shows (alpha > 0.5) ALPHA_HALF_SIGMAS of its sigma past its point: along
    # the silhouette's level edges (the shoulders' tops, the bust's lower end) the rings' ends face the camera
    # and their discs would stand past the outline, so the rings keep that far inside it vertically. (Across,
    # at a row's left and right ends, the ring is seen edge-on and its discs project thin.) ``disc_sigma`` is
    # the sigma of the discs that stand there, in these rings' spacings (before any subdivision)
    inset = int(round(ALPHA_HALF_SIGMAS * disc_sigma * cell / depth * camera.fy))
    if inset > 0:
        sil = ndimage.binary_erosion(sil, structure=np.ones((2 * inset + 1, 1), bool), border_value=1)
    vs, left, right = _rows(sil, v_top, v_bottom, n_rings)
    if len(vs) < 2:
        return None
    x_l = (left - camera.cx) / camera.fx * depth
    x_r = (right - camera.cx) / camera.fx * depth
    y = (vs - camera.cy) / camera.fy * depth
    a = np.maximum((x_r - x_l) / 2, 1e-3)
    # each ring as fine round its front as the rings are apart (a narrow neck takes fewer points than the
    # shoulders: one count for every ring gave the neck points 3x closer round it than down it, and its
    # edges showed in steps as far apart as the rings), the back BACK_COARSENESS times coarser
    n_front = np.clip(np.round(0.5 * np.pi * (a + _half_depth(a)) / cell), MIN_FRONT, 240).astype(int)
    n_back = np.clip(np.round(n_front / BACK_COARSENESS), MIN_BACK, 240).astype(int)
    # camera frame: x right, y down, z away; the front half of each ring faces the camera (smaller z)
    dx, dz, ring, xc = _turned_rings(a, (x_l + x_r) / 2, depth, float(yaw), n_front, n_back)
    # each point of the front half stays on its row's ray (y in proportion to z): the front view's lower edge
    # is the silhouette's, not the nearer front of the lowest ring bulging below it. The back half mirrors the
    # front's height (on the ray it would hang below the front, and even level it would show as a skirt under
    # the body seen from chest height); from the photo's camera it projects higher: inside the silhouette
    z = depth + dz
    level = y[ring] * (depth - np.abs(dz)) / depth
    pts_cam = np.stack([xc[ring] + dx, level, z], -1)
    centres = np.stack([xc, y, np.full_like(y, depth)], 1)
    c2w = np.linalg.inv(w2c)
    pts = pts_cam @ c2w[:3, :3].T + c2w[:3, 3]
    cen = centres @ c2w[:3, :3].T + c2w[:3, 3]
    # no cap of long triangles: they gave the lowest ring's points discs several times their spacing, which
    # spread below the silhouette (a grey skirt under the bust in the front view)
    around = ring_positions(n_front, n_back)
    faces = stitch_rings(around, ring)
    # wind every triangle outwards (away from its ring's axis)
    tri = pts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = tri.mean(1) - cen[ring[faces[:, 0]]]
    flip = (normal * out).sum(1) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return BodyRings(pts, faces, cen, ring, around)


def body_lid(rings: BodyRings, camera: Camera) -> tuple[np.ndarray, np.ndarray] | None:
    """Where the photo's lower edge cuts the person (the lowest of :func:`body_rings`' ``rings`` on that edge)
    the body does not end there: its lowest ring is closed by a lid, its inside filled
    with points on a grid as coarse as the back's (as high as the ring is: body_rings' rule), triangulated with
    the ring, facing down. From a camera lower than the photo's (the page's, at chest height) it hides the
    inside of the back, which showed as a dark band under the bust. Returns the new points (world) and the
    lid's triangles (indices into the rings' points and then the new points), or None when the body ends in the
    photo."""
    from scipy.spatial import Delaunay, cKDTree

    pts, cen = rings.points, rings.centres
    if len(cen) < 2:
        return None
    w2c = camera.world_to_camera
    to_cam = lambda p: p @ w2c[:3, :3].T + w2c[:3, 3]  # noqa: E731
    centre, above = to_cam(cen[-1]), to_cam(cen[-2])
    if centre[1] / centre[2] * camera.fy + camera.cy < camera.height - FRAME_PX:
        return None
    first = int(np.searchsorted(rings.ring, len(cen) - 1))   # the lowest ring's first point
    ring = to_cam(pts[first:])
    xc, y, depth = centre
    # the lid, which the photo does not show, is as coarse as the back: BACK_COARSENESS times the rings'
    # spacing (their vertical step; the centres also move sideways from row to row)
    cell = BACK_COARSENESS * abs(float(centre[1] - above[1]))
    flat = np.stack([ring[:, 0] - xc, ring[:, 2] - depth], 1)     # (x, dz) about the ring's axis
    lo, hi = flat.min(0), flat.max(0)
    gx, gz = np.meshgrid(np.arange(lo[0] + cell / 2, hi[0], cell), np.arange(lo[1] + cell / 2, hi[1], cell))
    grid = np.stack([gx.ravel(), gz.ravel()], 1)
    hull = Delaunay(flat)
    grid = grid[(hull.find_simplex(grid) >= 0) & (cKDTree(flat).query(grid)[0] > LID_CLEARANCE * cell)]
    level = y * (depth - np.abs(grid[:, 1])) / depth
    inner = np.stack([xc + grid[:, 0], level, depth + grid[:, 1]], 1)
    tri = Delaunay(np.concatenate([flat, grid])).simplices
    ids = np.where(tri < len(flat), first + tri, len(pts) + tri - len(flat))
    corners = np.concatenate([ring, inner])[tri]
    up = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])[:, 1] < 0  # camera y is down
    ids[up] = ids[up][:, [0, 2, 1]]
    c2w = camera.camera_to_world
    return inner @ c2w[:3, :3].T + c2w[:3, 3], ids


def head_footprint(vertices: np.ndarray, faces: np.ndarray, camera: Camera) -> np.ndarray:
    """(H, W) bool: the pixels the head mesh (``vertices`` posed as in the photo) covers in the photo."""
    from PIL import Image, ImageDraw

    uv = camera.project(vertices)[:, :2]
    im = Image.new("1", (camera.width, camera.height), 0)
    draw = ImageDraw.Draw(im)
    for tri in uv[faces]:
        draw.polygon([tuple(p) for p in tri], fill=1)
    return np.asarray(im, dtype=bool)


def beside_head(sil: np.ndarray, head: np.ndarray, chin_v: float,
                eyes_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Two (H, W) bool masks: what the silhouette holds beside the head, which the head does not cover, between
    the eyes' row and the chin's; and the part of it that hangs together with the body below the chin (a
    collar, long hair beside the neck and cheeks). An ear that stands out past the head model's is in the first
    only: it touches nothing below the chin. Specks and the mask's soft edge along the head's outline do not
    count."""
    beside, attached = np.zeros(sil.shape, bool), np.zeros(sil.shape, bool)
    lo, hi = int(max(np.ceil(eyes_v), 0)), int(min(np.floor(chin_v), sil.shape[0]))
    if hi <= lo:
        return beside, attached
    # followed down to the picture's bottom, to tell what hangs together with the body below the chin
    down = sil[lo:] & ~ndimage.binary_dilation(head[lo:], iterations=EDGE_SLACK_PX)
    beside[lo:hi] = ndimage.binary_opening(down[:hi - lo], iterations=EDGE_SLACK_PX)
    labels, _ = ndimage.label(ndimage.binary_opening(down, iterations=EDGE_SLACK_PX) | beside[lo:])
    body = np.unique(labels[hi - lo:])
    attached[lo:hi] = beside[lo:hi] & np.isin(labels[:hi - lo], body[body > 0])
    return beside, attached


def upper_body_top(beside: np.ndarray, chin_v: float) -> float:
    """The row the body's rings start at: the chin's, or higher, up to the eyes' row, where the silhouette
    holds the person beside the head (``beside``, :func:`beside_head`'s first mask)."""
    if beside.sum() < MIN_BESIDE_PX:
        return chin_v
    return float(np.flatnonzero(beside.any(1))[0])


def _keep_vertices(pts: np.ndarray, faces: np.ndarray,
                   keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mesh with only the triangles among the ``keep`` vertices, and the vertices they use (and which)."""
    faces = faces[keep[faces].all(1)]
    used = np.zeros(len(pts), bool)
    used[faces] = True
    return pts[used], (np.cumsum(used) - 1)[faces], used


def source_rows(points: np.ndarray, camera: Camera, axis_world: np.ndarray) -> np.ndarray:
    """(N,) the photo row (pixels) each of the body's points, posed as in the photo, was built from: its ring's
    row. :func:`body_rings` sets a ring point's camera-frame height to ``y (depth - |dz|) / depth`` at depth
    ``depth + dz`` (``depth``: the axis's, ``y``: the row's height at that depth): the front half lies on the
    row's rays and projects onto it; the back, as high as the front but farther, projects onto a higher row."""
    w2c = camera.world_to_camera
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    depth = float((w2c[:3, :3] @ axis_world + w2c[:3, 3])[2])
    y = cam[:, 1] * depth / np.maximum(depth - np.abs(cam[:, 2] - depth), 1e-6)
    return y / depth * camera.fy + camera.cy


def person_silhouette(mask: np.ndarray, face_px: np.ndarray) -> np.ndarray:
    """(H, W) bool: the part of the person mask that holds the face, without specks."""
    from .fit_open_head import _silhouette

    sil = _silhouette(mask, (face_px[:468, 0].mean(), face_px[:468, 1].mean()))
    return ndimage.binary_opening(sil, iterations=2)


def add_bust(rig: Rig, params: FrameParams, camera: Camera, sil: np.ndarray, face_px: np.ndarray,
             face_height_px: float, torso_yaw: float = 0.0, disc_sigma: float = 0.55) -> Rig:
    """``rig`` with the body below the chin appended (region "bust"), in its canonical frame; ``sil`` is the
    person's silhouette (:func:`person_silhouette`), ``torso_yaw`` the body's turn and ``disc_sigma`` the sigma of
    its discs at its level edges, in the rings' spacings (:func:`body_rings`)."""
    sk = rig.deform(params)
    neck = sk.joints[0, rig.joint_names.index("neck")].numpy().astype(np.float64)
    chin_v = float(face_px[CHIN, 1])
    head = head_footprint(sk.vertices[0].numpy().astype(np.float64), rig.faces, camera)
    beside, attached = beside_head(sil, head, chin_v, float(face_px[EYES, 1].mean()))
    top = upper_body_top(beside, chin_v)
    made = body_rings(camera, sil, face_px[CHIN, :2], face_height_px, neck, torso_yaw, top_px=top,
                      disc_sigma=disc_sigma)
    if made is None:
        return rig
    pts, faces = made.points, made.faces
    lid = np.zeros(len(pts), bool)
    closed = body_lid(made, camera)
    if closed is not None:
        lid = np.concatenate([lid, np.ones(len(closed[0]), bool)])
        pts, faces = np.concatenate([pts, closed[0]]), np.concatenate([faces, closed[1]])
    if top < chin_v:  # above the chin the rings are only what lies beside the head (a collar, long hair)
        uv = camera.project(pts)
        tucked = ndimage.binary_erosion(head, iterations=HEAD_TUCK_PX)
        r = np.clip(uv[:, 1].astype(int), 0, tucked.shape[0] - 1)
        c = np.clip(uv[:, 0].astype(int), 0, tucked.shape[1] - 1)
        above = source_rows(pts, camera, neck) < chin_v
        # what stands out past the head there but does not hang together with the body below the chin is an
        # ear wider than the head model's: the ring's sides there ran from the cheek to the back of the head (a
        # slab, pale from the side). Its front, which the photo shows, is pressed along its rays from the camera
        # to within EAR_HALF_DEPTH of the ring's rim (a thin piece; the photo's view does not change); its back
        # is dropped
        ear = above & ~ndimage.binary_dilation(attached, iterations=EDGE_SLACK_PX)[r, c]
        depth, rim = uv[:, 2], float(camera.project(neck[None])[0, 2])
        front = ear & (depth < rim - EAR_HALF_DEPTH)
        back = ear & (depth > rim + EAR_HALF_DEPTH)
        pts = pts.copy()
        eye = camera.position
        pts[front] = eye + (pts[front] - eye) * ((rim - EAR_HALF_DEPTH) / depth[front])[:, None]
        pts, faces, used = _keep_vertices(pts, faces, ~(above & tucked[r, c]) & ~back)
        lid = lid[used]
    # into the canonical frame: undo the root joint's transform of the photo's pose
    root = sk.transforms[0, ROOT].numpy().astype(np.float64)
    inv = np.linalg.inv(root)
    rest = pts @ inv[:3, :3].T + inv[:3, 3]
    weights = np.zeros((len(rest), rig.n_joints), rig.lbs_weights.dtype)
    weights[:, ROOT] = 1.0
    out = rig.with_part("bust", rest, faces, weights)
    if lid.any():   # a named subset of the body: the lid takes the colour of the clothing just above it
        out = replace(out, regions={**out.regions, "bust_lid": out.regions["bust"][lid]})
    return out


def body_disc_scales(points: np.ndarray, tangent: float, normal: float) -> np.ndarray:
    """(N, 3) disc scales for the body's points: ``tangent`` / ``normal`` times the distance to each point's
    BODY_NEIGHBOURS-th nearest point. The rings change width from row to row (neck to shoulders, shoulder
    lobes at the bottom), so there the mesh's edges between rows run far sideways, and discs sized by them
    spread past the silhouette (a grey skirt under the bust). The farthest of the nearest four, as the back is
    coarser across than down and its discs must close both gaps."""
    from scipy.spatial import cKDTree

    k = min(BODY_NEIGHBOURS, len(points) - 1)
    if k < 1:
        return np.full((len(points), 3), 1e-3) * [tangent, tangent, normal]
    d, _ = cKDTree(points).query(points, k=k + 1)
    return d[:, -1:] * np.array([tangent, tangent, normal])


def body_fade(heights: np.ndarray, face_height: float) -> np.ndarray:
    """Opacity factors in [0, 1] for the body's points at ``heights`` (metres, up): 1 down to FADE_FACES
    face heights above the body's lowest ring, then a smooth fall to 0 there, so the bust ends softly (as
    LAM's avatars do) instead of in a hard, capped cut."""
    lo = float(heights.min())
    t = np.clip((heights - lo) / max(FADE_FACES * face_height, 1e-6), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def inside_silhouette(posed: np.ndarray, camera: Camera, mask: np.ndarray) -> np.ndarray:
    """(N,) 0/1: whether each of the body's points, posed as in the photo, projects onto the person. A ring
    spans its row's outermost pixels; where the row's silhouette parts (two shoulder lobes with backdrop
    between them) the points in the gap are kept out, front and back: nothing of a true body can project
    off the person in the photo (the one-view visual hull)."""
    from .colour import bilinear

    # a ring's outermost points lie on the silhouette's very edge: only gaps wider than a few pixels count
    near = ndimage.grey_dilation(np.asarray(mask, np.float64), size=2 * EDGE_SLACK_PX + 1)
    uvz = camera.project(posed)
    return (bilinear(near[..., None], uvz[:, 0], uvz[:, 1])[:, 0] >= 0.5).astype(float)


def running_medoid(colours: np.ndarray, size: int) -> np.ndarray:
    """Each of ``colours`` (N, C), in order, replaced by the medoid of the ``size`` around it (fewer at the
    ends): the one nearest all the others. Unlike a per-channel median it is always one of the colours (a
    stripe next to a change of colour cannot tip one channel), and like a median it keeps a step."""
    half = size // 2
    out = colours.copy()
    for i in range(len(colours)):
        window = colours[max(0, i - half): i + half + 1]
        far = np.linalg.norm(window[:, None] - window[None], axis=-1).sum(1)
        out[i] = window[np.argmin(far)]
    return out


def carry_colours(heights: np.ndarray, colours: np.ndarray, seen: np.ndarray, across: np.ndarray,
                  step: float = 0.01) -> np.ndarray:
    """Colours for the body's points the photo does not show: the clothing carries on round the back. At each
    height (bins of ``step`` metres, interpolated across heights with none seen) the colour of the body's seen
    sides there: ``across`` is each point's position across the body (e.g. the photo's x); the median of the
    seen points in the outer SIDE_SHARE on the left and on the right, blended across the back by position
    (a held helmet, hands or a badge in front of the body do not go round it)."""
    out = colours.copy()
    if not seen.any() or seen.all():
        return out
    bins = np.floor((heights - heights.min()) / step).astype(int)
    have = np.unique(bins[seen])
    sides = np.zeros((len(have), 2, colours.shape[1]))
    for i, b in enumerate(have):
        row = np.flatnonzero(seen & (bins == b))
        k = max(1, int(np.ceil(SIDE_SHARE * len(row))))
        order = np.argsort(across[row])
        sides[i, 0] = np.median(colours[row[order[:k]]], axis=0)
        sides[i, 1] = np.median(colours[row[order[-k:]]], axis=0)
    for side in (0, 1):  # clothing changes slowly with height: no stripe from one row's sides
        sides[:, side] = running_medoid(sides[:, side], CARRY_SMOOTH_BINS)
    centre = have.astype(float)
    lo, hi = np.zeros((len(heights), colours.shape[1])), np.zeros((len(heights), colours.shape[1]))
    for c in range(colours.shape[1]):
        lo[:, c] = np.interp(bins.astype(float), centre, sides[:, 0, c])
        hi[:, c] = np.interp(bins.astype(float), centre, sides[:, 1, c])
    w = np.full(len(heights), 0.5)
    if np.ptp(across) > 0:
        w = np.clip((across - across.min()) / np.ptp(across), 0.0, 1.0)
    blend = (1 - w)[:, None] * lo + w[:, None] * hi
    out[~seen] = blend[~seen]
    return out
