"""The body's rings turned by the torso's yaw: the geometry (no MediaPipe), then the shoulders MediaPipe's pose
landmarks find on real photos and on renders of avatars turned by a known angle."""

import numpy as np
import pytest
from scipy import ndimage

from lam_core.camera import Camera
from lam_core.reconstruct.bust import (NECK_RADIUS, _half_depth, _rows, body_rings, source_rows, turned_axes,
                                      upper_body_top)

CAM = Camera(512, 512, 640.0, 640.0, 256.0, 256.0)   # world = camera frame
DEPTH = 0.7
CHIN = np.array([250.0, 205.0])


def _silhouette() -> np.ndarray:
    """A neck (round rows) widening into shoulders that run off the picture's sides."""
    yy, xx = np.mgrid[:512, :512]
    sil = (np.abs(xx - 250) < 30) & (yy > 150)
    sil |= (yy > 290) & (np.abs(xx - 262) < 30 + 1.6 * (yy - 290))
    return sil


def _rings(yaw: float):
    """The rings' geometry alone: no inset for the discs' spread (disc_sigma=0)."""
    pts, faces, cen = body_rings(CAM, _silhouette(), CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), yaw, disc_sigma=0.0)
    segments = len(pts) // len(cen)
    return pts.reshape(len(cen), segments, 3), faces, cen


def test_turned_axes_keep_the_front_views_half_width():
    a = np.linspace(0.01, 0.3, 60)
    big, small = turned_axes(a, 0.0)
    np.testing.assert_array_equal(big, a)
    for deg in (-50, -30, 10, 45):
        yaw = np.radians(deg)
        big, small = turned_axes(a, yaw)
        np.testing.assert_allclose(np.sqrt((big * np.cos(yaw)) ** 2 + (small * np.sin(yaw)) ** 2), a, atol=1e-12)
        np.testing.assert_array_equal(small, _half_depth(big))
        round_ = a <= NECK_RADIUS
        np.testing.assert_allclose(big[round_], a[round_], atol=1e-12)   # a neck stays a circle of its width
        assert (big[~round_] > a[~round_]).all()


def test_unturned_rings_are_todays():
    """yaw = 0: every ring is the ellipse x = centre + a cos t, z = depth - b sin t (b = _half_depth(a)), its
    front half (t in [0, pi)) facing the camera, each point of it on its row's ray and the back half level,
    bit for bit."""
    ring, _, cen = _rings(0.0)
    r_n, segments = ring.shape[:2]
    n_front = int((ring[0, :, 2] < DEPTH - 1e-9).sum()) + 1   # t = 0 sits at the centre's depth
    t = np.concatenate([np.linspace(0, np.pi, n_front, endpoint=False),
                        np.linspace(np.pi, 2 * np.pi, segments - n_front, endpoint=False)])
    vs, left, right = _rows(_silhouette(), CHIN[1], cen[-1, 1] / DEPTH * CAM.fy + CAM.cy, r_n)
    x_l, x_r = (left - CAM.cx) / CAM.fx * DEPTH, (right - CAM.cx) / CAM.fx * DEPTH
    a = np.maximum((x_r - x_l) / 2, 1e-3)
    z = DEPTH - _half_depth(a)[:, None] * np.sin(t)
    y = (vs - CAM.cy) / CAM.fy * DEPTH
    want = np.stack([((x_l + x_r) / 2)[:, None] + a[:, None] * np.cos(t), y[:, None] * (DEPTH - np.abs(z - DEPTH)) / DEPTH, z], -1)
    np.testing.assert_array_equal(ring, want)


@pytest.mark.parametrize("deg", [-45, -30, -15, 15, 30, 45])
def test_turned_rings_match_the_silhouette_from_the_front(deg):
    yaw = np.radians(deg)
    ring, faces, cen = _rings(yaw)
    straight, faces0, _ = _rings(0.0)
    assert ring.shape == straight.shape
    np.testing.assert_array_equal(faces, faces0)   # the same mesh, winding included (the rings stay convex)
    sil = _silhouette()
    r_n = len(cen)
    vs, left, right = _rows(sil, CHIN[1], cen[-1, 1] / DEPTH * CAM.fy + CAM.cy, r_n)
    uv = CAM.project(ring.reshape(-1, 3)).reshape(r_n, -1, 3)
    # each point of the front half stays on its row's ray; the back half projects nearer the middle
    rows = np.repeat(vs[:, None], ring.shape[1], 1)
    front = ring[..., 2] <= DEPTH
    np.testing.assert_allclose(uv[..., 1][front], rows[front], atol=1e-6)
    assert np.all(np.abs(uv[..., 1] - CAM.cy)[~front] <= np.abs(rows - CAM.cy)[~front] + 1e-6)
    # each ring's leftmost and rightmost points (the front half runs from the right one to the left one)
    # project onto the row's silhouette edges: the front view's half-width is the silhouette's
    n_front = int(np.argmin(ring[0, :, 0]))
    np.testing.assert_allclose(uv[:, 0, 0], right, atol=1.0)
    np.testing.assert_allclose(uv[:, n_front, 0], left, atol=1.0)
    # the finer front half is the one facing the camera: its outward normals point towards it (z < 0)
    xz = ring[..., [0, 2]]
    tangent = np.roll(xz, -1, 1) - np.roll(xz, 1, 1)
    normal = np.stack([tangent[..., 1], -tangent[..., 0]], -1)
    normal *= np.sign((normal * (xz - cen[:, None, [0, 2]])).sum(-1, keepdims=True))
    assert (normal[:, 1:n_front, 1] < 0).all() and (normal[:, n_front + 1:, 1] > 0).all()
    # the whole ring, drawn with perspective, reaches past the edges about as far as the unturned one does
    # (rays off the axis touch an ellipse a little in front of its widest points)
    uv0 = CAM.project(straight.reshape(-1, 3)).reshape(r_n, -1, 3)
    over = np.maximum(uv[..., 0].max(1) - right, left - uv[..., 0].min(1)).max()
    over0 = np.maximum(uv0[..., 0].max(1) - right, left - uv0[..., 0].min(1)).max()
    print(f"yaw {deg}: the ring reaches {over:.1f} px past the silhouette (unturned {over0:.1f} px)")
    assert over <= over0 + 6.0, (over, over0)   # measured: +0.4 px at 15 degrees, +1.5 at 30, +4.8 at 45
    # the neck (round rows) is the same circle, point for point
    half = (right - left) / 2 / CAM.fx * DEPTH
    neck = half < NECK_RADIUS - 1e-3
    assert neck.sum() >= 3
    np.testing.assert_allclose(ring[neck], straight[neck], atol=1e-9)
    # the rings' long axis (across the body) is turned by yaw: the principal axis of each flat ring's points
    # about its centre in the camera's x-z plane (each half of a ring samples its angle evenly)
    flat = half > 1.3 * _half_depth(half) + 0.02
    assert flat.sum() >= 5
    for r in np.flatnonzero(flat):
        d = ring[r][:, [0, 2]] - cen[r, [0, 2]]
        nf = n_front
        cov = d[:nf].T @ d[:nf] / nf + d[nf:].T @ d[nf:] / (len(d) - nf)
        w, v = np.linalg.eigh(cov)
        axis = v[:, 1] * np.sign(v[0, 1])
        assert np.degrees(np.arctan2(axis[1], axis[0])) == pytest.approx(deg, abs=0.5)


@pytest.mark.parametrize("yaw", [0.0, 0.4, -0.6])
def test_every_point_of_a_ring_knows_its_photo_row(yaw):
    """The front half of a ring lies on its row's rays; the back, as high but farther, projects nearer the
    picture's middle (higher, below it: above a widening ring it shows past the front). The
    fade and the back's colours go by the row the ring was built from, which source_rows recovers."""
    pts, _, cen = _rings(yaw)
    axis = np.array([0.0, 0.0, DEPTH])
    rows = source_rows(pts.reshape(-1, 3), CAM, axis).reshape(pts.shape[:2])
    want = cen[:, 1] / cen[:, 2] * CAM.fy + CAM.cy
    np.testing.assert_allclose(rows, np.repeat(want[:, None], pts.shape[1], 1), atol=1e-6)
    projected = CAM.project(pts.reshape(-1, 3))[:, 1].reshape(pts.shape[:2])
    # the back, farther, projects nearer the picture's middle row than its own row
    behind = (pts[..., 2] > DEPTH + 0.01) & (np.abs(rows - CAM.cy) > 10)
    assert behind.sum() > 100
    assert (np.abs(projected[behind] - CAM.cy) < np.abs(rows[behind] - CAM.cy) - 0.1).all()


def test_the_body_starts_above_the_chin_where_the_person_shows_beside_the_head():
    """A collar (or long hair) rising beside the neck above the chin: the rings start where it begins, not
    at the chin. A silhouette that is the head alone down to the chin keeps the chin."""
    yy, xx = np.mgrid[:512, :512]
    head = (xx - 250) ** 2 / 60 ** 2 + (yy - 150) ** 2 / 80 ** 2 < 1          # chin at row 230
    body = (yy > 225) & (np.abs(xx - 250) < 30 + 2 * (yy - 225))
    assert upper_body_top(head | body, head, 230.0, 130.0) == 230.0
    collar = (yy > 195) & (np.abs(xx - 250) < 95) & ~head                    # beside the jaw from row 195
    top = upper_body_top(head | body | collar, head, 230.0, 130.0)
    assert 195 <= top <= 199, top
    # specks and the mask's soft rim along the head's outline do not count
    rim = ndimage.binary_dilation(head, iterations=2) & ~head
    assert upper_body_top(head | body | rim, head, 230.0, 130.0) == 230.0


def test_rings_keep_inside_the_silhouettes_level_edges_by_their_discs_spread():
    """Discs facing the camera cover (alpha > 0.5) sqrt(2 ln 2) = 1.18 sigma past their points: where the silhouette's
    edge is level (shoulders that step out from the neck, the bust's lower end) the rings start that far
    inside it, so the rendered outline is the photo's, not a band above the shoulders (p2-1's front view
    spilled 4,100 px past its silhouette). A row's left and right ends, seen edge-on, stay on the edges, and a
    body the photo's lower edge cuts still reaches it (and gets its lid)."""
    from lam_core.reconstruct.bust import body_lid

    yy, xx = np.mgrid[:512, :512]
    sil = (np.abs(xx - 250) < 30) & (yy > 150)
    sil |= (yy >= 300) & (np.abs(xx - 250) < 150)              # level shoulder tops at row 300
    pts, _, cen = body_rings(CAM, sil, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0, disc_sigma=0.55)
    plain, _, cen0 = body_rings(CAM, sil, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0, disc_sigma=0.0)
    rows = cen[:, 1] / DEPTH * CAM.fy + CAM.cy
    spacing = float(np.median(np.diff(rows)))
    inset = round(1.18 * 0.55 * spacing)
    assert inset >= 3
    segments = len(pts) // len(cen)
    uv = CAM.project(pts).reshape(len(cen), segments, 3)
    wide = np.ptp(uv[..., 0], 1) > 100
    assert rows[wide].min() >= 300 + inset - 0.5                # the shoulders start inside their level top
    assert (cen0[:, 1] / DEPTH * CAM.fy + CAM.cy)[np.ptp(CAM.project(plain).reshape(len(cen0), -1, 3)[..., 0], 1)
                                                  > 100].min() < 300 + inset - 0.5
    neck = ~wide & (rows < 300 - inset - 1)
    assert neck.sum() > 5
    uv0 = CAM.project(plain).reshape(len(cen0), segments, 3)
    np.testing.assert_array_equal(uv[neck], uv0[neck])           # the neck's sides stay on the edges
    np.testing.assert_allclose(uv[neck, :, 0].min(1), 220.0, atol=1.5)
    assert rows[-1] > 511 - 1e-6 and body_lid(pts, cen, CAM) is not None


def test_the_photo_sees_the_bodys_outline_and_its_back_where_that_shows_past_the_front():
    """The body is built from the silhouette, so the photo shows what of it the photo's camera sees: its
    outline (the rings' outermost points, seen edge-on, take the photo's colour rather than the back's: a
    grey rim round LAM's bust before) and the back where, below the picture's middle, it shows above the front
    of a narrower ring (a line across the shoulders before). The rest of the back lies behind the front."""
    from lam_core.reconstruct.analytic import seen_from_photo
    from lam_core.reconstruct.surface import surface_discs

    pts, faces, cen = body_rings(CAM, _silhouette(), CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0, disc_sigma=0.0)
    _, _, normals = surface_discs(pts, faces, tangent=0.55)
    least = seen_from_photo(pts, normals, CAM, np.ones(len(pts), bool))
    cos = (normals * -pts).sum(1) / np.linalg.norm(pts, axis=1)     # the camera sits at the origin
    uv = CAM.project(pts)
    rings, segments = len(cen), len(pts) // len(cen)
    grid = pts.reshape(rings, segments, 3)[..., 0]
    ends = np.concatenate([np.argmin(grid, 1), np.argmax(grid, 1)]) + np.tile(np.arange(rings) * segments, 2)
    ends = ends[uv[ends, 1] < 420]   # lower down, the shoulders run off the picture's sides
    assert len(ends) > 20 and (cos[ends] > least[ends]).all()
    past = np.isinf(least)
    assert past.sum() > 10 and (cos[past] < 0).all() and (uv[past, 1] > 290).all()  # where the shoulders widen
    back = cos < -0.5
    assert (~past[back]).mean() > 0.9


def test_a_body_the_photos_lower_edge_cuts_is_closed_by_a_lid():
    """The photo's lower edge cuts the person: the body goes on below it, so its lowest ring is closed by a lid
    facing down, inside the ring, as high as the ring, that leaves the mesh without a hole at the bottom (from a
    camera lower than the photo's the inside of the back showed through it as a dark band). A body that ends
    inside the photo (LAM's faded busts) gets none."""
    import trimesh

    from lam_core.reconstruct.bust import body_lid

    pts, faces, cen = body_rings(CAM, _silhouette(), CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.3)
    made = body_lid(pts, cen, CAM)
    assert made is not None
    inner, lid_faces = made
    segments = len(pts) // len(cen)
    lowest = pts[-segments:]
    assert len(inner) > 20
    # inside the lowest ring, seen from below, and as high as it (body_rings' rule for a ring's height)
    from scipy.spatial import Delaunay

    assert (Delaunay(lowest[:, [0, 2]]).find_simplex(inner[:, [0, 2]]) >= 0).all()
    np.testing.assert_allclose(inner[:, 1], cen[-1, 1] * (DEPTH - np.abs(inner[:, 2] - DEPTH)) / DEPTH, atol=1e-9)
    both = np.concatenate([pts, inner])
    normals = trimesh.Trimesh(both, lid_faces, process=False).face_normals
    assert (normals[:, 1] > 0.5).all()            # facing down (camera y is down)
    mesh = trimesh.Trimesh(both, np.concatenate([faces, lid_faces]), process=False)
    assert mesh.is_winding_consistent
    open_edges = trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)
    assert (both[mesh.edges_sorted[open_edges]][..., 1] < cen[-1, 1] - 1e-6).all()  # the only hole is the top
    # a body that ends inside the photo
    short = _silhouette() & (np.mgrid[:512, :512][0] < 470)
    pts2, _, cen2 = body_rings(CAM, short, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0)
    assert body_lid(pts2, cen2, CAM) is None
