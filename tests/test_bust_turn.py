"""The body's rings turned by the torso's yaw: the geometry (no MediaPipe), then the shoulders MediaPipe's pose
landmarks find on real photos and on renders of avatars turned by a known angle."""

import numpy as np
import pytest
from scipy import ndimage

from lam_core.camera import Camera
from lam_core.reconstruct.bust import (NECK_RADIUS, _half_depth, _rows, beside_head, body_rings, source_rows,
                                      turned_axes, upper_body_top)

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
    return body_rings(CAM, _silhouette(), CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), yaw, disc_sigma=0.0)


def _each(rings, values):
    """``values`` (one per point) split ring by ring."""
    return [values[rings.ring == r] for r in range(len(rings.centres))]


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
    rings = _rings(0.0)
    cen, r_n = rings.centres, len(rings.centres)
    vs, left, right = _rows(_silhouette(), CHIN[1], cen[-1, 1] / DEPTH * CAM.fy + CAM.cy, r_n)
    x_l, x_r = (left - CAM.cx) / CAM.fx * DEPTH, (right - CAM.cx) / CAM.fx * DEPTH
    a = np.maximum((x_r - x_l) / 2, 1e-3)
    t = 2 * np.pi * rings.around
    k = rings.ring
    z = DEPTH - _half_depth(a)[k] * np.sin(t)
    y = (vs - CAM.cy) / CAM.fy * DEPTH
    want = np.stack([((x_l + x_r) / 2)[k] + a[k] * np.cos(t), y[k] * (DEPTH - np.abs(z - DEPTH)) / DEPTH, z], -1)
    np.testing.assert_array_equal(rings.points, want)


def test_each_ring_is_as_fine_round_its_front_as_the_rings_are_apart():
    """A ring's point count follows its width: the narrow neck takes fewer points than the shoulders, so round
    the front the points lie about as far apart as the rings do (one count for every ring put the neck's points
    3x closer round it than down it, and its edges showed in steps as far apart as the rings). The back is
    BACK_COARSENESS times coarser; the rings join into one closed, consistently wound tube."""
    import trimesh

    from lam_core.reconstruct.bust import BACK_COARSENESS, MIN_BACK, MIN_FRONT

    rings = _rings(0.0)
    step = float(np.median(np.linalg.norm(np.diff(rings.centres, axis=0), axis=1)))
    counts = np.bincount(rings.ring)
    assert counts.min() < 0.5 * counts.max()                  # the neck is narrower than the shoulders
    for pts, around in zip(_each(rings, rings.points), _each(rings, rings.around)):
        front = pts[around < 0.5]
        if len(front) <= MIN_FRONT:
            continue
        gaps = np.linalg.norm(np.diff(front[:, [0, 2]], axis=0), axis=1)
        assert 0.6 * step < np.median(gaps) < 1.5 * step, (np.median(gaps), step)
        back = pts[around >= 0.5]
        if len(back) <= MIN_BACK:
            continue
        back_gaps = np.linalg.norm(np.diff(back[:, [0, 2]], axis=0), axis=1)
        assert np.median(back_gaps) == pytest.approx(BACK_COARSENESS * np.median(gaps), rel=0.35)
    mesh = trimesh.Trimesh(rings.points, rings.faces, process=False)
    assert mesh.is_winding_consistent
    assert len(rings.faces) == 2 * len(rings.points) - counts[0] - counts[-1]   # every band closed, no gaps
    open_edges = trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)
    ends = np.isin(rings.ring[mesh.edges_sorted[open_edges]], [0, len(counts) - 1]).all(1)
    assert ends.all()                                        # only the top and bottom rings are open
    # outward: each triangle's normal points away from its ring's axis
    centre = rings.centres[rings.ring[rings.faces[:, 0]]]
    assert ((mesh.face_normals * (mesh.triangles_center - centre)).sum(1) > 0).all()


@pytest.mark.parametrize("deg", [-45, -30, -15, 15, 30, 45])
def test_turned_rings_match_the_silhouette_from_the_front(deg):
    yaw = np.radians(deg)
    rings = _rings(yaw)
    straight = _rings(0.0)
    np.testing.assert_array_equal(rings.ring, straight.ring)
    np.testing.assert_array_equal(rings.faces, straight.faces)   # the same mesh, winding included (convex rings)
    cen, r_n = rings.centres, len(rings.centres)
    vs, left, right = _rows(_silhouette(), CHIN[1], cen[-1, 1] / DEPTH * CAM.fy + CAM.cy, r_n)
    uv = CAM.project(rings.points)
    # each point of the front half stays on its row's ray; the back half projects nearer the middle
    rows = vs[rings.ring]
    front = rings.points[:, 2] <= DEPTH
    np.testing.assert_allclose(uv[front, 1], rows[front], atol=1e-6)
    assert np.all(np.abs(uv[~front, 1] - CAM.cy) <= np.abs(rows[~front] - CAM.cy) + 1e-6)
    # each ring's leftmost and rightmost points (the front half runs from the right one to the left one)
    # project onto the row's silhouette edges: the front view's half-width is the silhouette's
    np.testing.assert_allclose(uv[rings.around == 0.0, 0], right, atol=1.0)
    np.testing.assert_allclose(uv[rings.around == 0.5, 0], left, atol=1.0)
    # the whole ring, drawn with perspective, reaches past the edges about as far as the unturned one does
    # (rays off the axis touch an ellipse a little in front of its widest points)
    uv0 = CAM.project(straight.points)
    def reach(u):
        return max(max(x.max() - r, l - x.min()) for x, l, r in zip(_each(rings, u[:, 0]), left, right))

    over, over0 = reach(uv), reach(uv0)
    print(f"yaw {deg}: the ring reaches {over:.1f} px past the silhouette (unturned {over0:.1f} px)")
    assert over <= over0 + 6.0, (over, over0)   # measured: +0.4 px at 15 degrees, +1.5 at 30, +4.8 at 45
    half = (right - left) / 2 / CAM.fx * DEPTH
    neck = half < NECK_RADIUS - 1e-3
    assert neck.sum() >= 3
    flat = half > 1.3 * _half_depth(half) + 0.02
    assert flat.sum() >= 5
    for r, (xyz, around) in enumerate(zip(_each(rings, rings.points), _each(rings, rings.around))):
        # the finer front half is the one facing the camera: its outward normals point towards it (z < 0)
        xz = xyz[:, [0, 2]]
        tangent = np.roll(xz, -1, 0) - np.roll(xz, 1, 0)
        normal = np.stack([tangent[:, 1], -tangent[:, 0]], -1)
        normal *= np.sign((normal * (xz - cen[r, [0, 2]])).sum(-1, keepdims=True))
        nf = int((around < 0.5).sum())
        assert (normal[1:nf, 1] < 0).all() and (normal[nf + 1:, 1] > 0).all()
        if neck[r]:   # the neck (round rows) is the same circle, point for point
            np.testing.assert_allclose(xyz, straight.points[straight.ring == r], atol=1e-9)
        if flat[r]:
            # the rings' long axis (across the body) is turned by yaw: the principal axis of each flat ring's
            # points about its centre in the camera's x-z plane (each half of a ring samples its angle evenly)
            d = xz - cen[r, [0, 2]]
            cov = d[:nf].T @ d[:nf] / nf + d[nf:].T @ d[nf:] / (len(d) - nf)
            w, v = np.linalg.eigh(cov)
            axis = v[:, 1] * np.sign(v[0, 1])
            assert np.degrees(np.arctan2(axis[1], axis[0])) == pytest.approx(deg, abs=0.5)


@pytest.mark.parametrize("yaw", [0.0, 0.4, -0.6])
def test_every_point_of_a_ring_knows_its_photo_row(yaw):
    """The front half of a ring lies on its row's rays; the back, as high but farther, projects nearer the
    picture's middle (higher, below it: above a widening ring it shows past the front). The
    fade and the back's colours go by the row the ring was built from, which source_rows recovers."""
    rings = _rings(yaw)
    pts, cen = rings.points, rings.centres
    axis = np.array([0.0, 0.0, DEPTH])
    rows = source_rows(pts, CAM, axis)
    want = cen[:, 1] / cen[:, 2] * CAM.fy + CAM.cy
    np.testing.assert_allclose(rows, want[rings.ring], atol=1e-6)
    projected = CAM.project(pts)[:, 1]
    # the back, farther, projects nearer the picture's middle row than its own row
    behind = (pts[:, 2] > DEPTH + 0.01) & (np.abs(rows - CAM.cy) > 10)
    assert behind.sum() > 100
    assert (np.abs(projected[behind] - CAM.cy) < np.abs(rows[behind] - CAM.cy) - 0.1).all()


def test_the_body_starts_above_the_chin_where_the_person_shows_beside_the_head():
    """A collar (or long hair) rising beside the neck above the chin: the rings start where it begins, not
    at the chin. A silhouette that is the head alone down to the chin keeps the chin. An ear standing out past
    the head is beside it too, but only what hangs together with the body below the chin is attached."""
    yy, xx = np.mgrid[:512, :512]
    head = (xx - 250) ** 2 / 60 ** 2 + (yy - 150) ** 2 / 80 ** 2 < 1          # chin at row 230

    def top(sil):
        return upper_body_top(beside_head(sil, head, 230.0, 130.0)[0], 230.0)

    body = (yy > 225) & (np.abs(xx - 250) < 30 + 2 * (yy - 225))
    assert top(head | body) == 230.0
    collar = (yy > 195) & (np.abs(xx - 250) < 95) & ~head                    # beside the jaw from row 195
    assert 195 <= top(head | body | collar) <= 199
    beside, attached = beside_head(head | body | collar, head, 230.0, 130.0)
    assert attached[200:225].sum() > 0.9 * beside[200:225].sum()
    # specks and the mask's soft rim along the head's outline do not count
    rim = ndimage.binary_dilation(head, iterations=2) & ~head
    assert top(head | body | rim) == 230.0
    # ears: beside the head from row 140, attached to nothing below the chin
    ears = (((xx - 188) ** 2 + (yy - 160) ** 2 < 15 ** 2) | ((xx - 312) ** 2 + (yy - 160) ** 2 < 15 ** 2)) & ~head
    beside, attached = beside_head(head | body | ears, head, 230.0, 130.0)
    assert beside.sum() > 100 and not attached.any()
    assert 140 <= top(head | body | ears) <= 150


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
    made = body_rings(CAM, sil, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0, disc_sigma=0.55)
    plain = body_rings(CAM, sil, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0, disc_sigma=0.0)
    rows = made.centres[:, 1] / DEPTH * CAM.fy + CAM.cy
    rows0 = plain.centres[:, 1] / DEPTH * CAM.fy + CAM.cy
    spacing = float(np.median(np.diff(rows)))
    inset = round(1.18 * 0.55 * spacing)
    assert inset >= 3
    uv, uv0 = CAM.project(made.points), CAM.project(plain.points)
    wide = np.array([np.ptp(u) for u in _each(made, uv[:, 0])]) > 100
    wide0 = np.array([np.ptp(u) for u in _each(plain, uv0[:, 0])]) > 100
    assert rows[wide].min() >= 300 + inset - 0.5                # the shoulders start inside their level top
    assert rows0[wide0].min() < 300 + inset - 0.5
    neck = np.flatnonzero(~wide & (rows < 300 - inset - 1))
    assert len(neck) > 5
    for r in neck:                                              # the neck's sides stay on the edges
        np.testing.assert_array_equal(uv[made.ring == r], uv0[plain.ring == r])
        assert uv[made.ring == r, 0].min() == pytest.approx(220.0, abs=1.5)
    assert rows[-1] > 511 - 1e-6 and body_lid(made, CAM) is not None


def test_the_photo_sees_the_bodys_outline_and_its_back_where_that_shows_past_the_front():
    """The body is built from the silhouette, so the photo shows what of it the photo's camera sees: its
    outline (the rings' outermost points, seen edge-on, take the photo's colour rather than the back's: a
    grey rim round LAM's bust before) and the back where, below the picture's middle, it shows above the front
    of a narrower ring (a line across the shoulders before). The rest of the back lies behind the front."""
    from lam_core.reconstruct.analytic import seen_from_photo
    from lam_core.reconstruct.surface import surface_discs

    rings = _rings(0.0)
    pts = rings.points
    _, _, normals = surface_discs(pts, rings.faces, tangent=0.55)
    least = seen_from_photo(pts, normals, CAM, np.ones(len(pts), bool))
    cos = (normals * -pts).sum(1) / np.linalg.norm(pts, axis=1)     # the camera sits at the origin
    uv = CAM.project(pts)
    index = np.arange(len(pts))
    ends = np.array([i[np.argmin(x)] for i, x in zip(_each(rings, index), _each(rings, pts[:, 0]))]
                    + [i[np.argmax(x)] for i, x in zip(_each(rings, index), _each(rings, pts[:, 0]))])
    ends = ends[uv[ends, 1] < 420]   # lower down, the shoulders run off the picture's sides
    assert len(ends) > 20 and (cos[ends] > least[ends]).all()
    back = cos < -0.5
    assert (~np.isinf(least[back])).mean() > 0.9
    # shoulders stepping out level from the neck: the first wide ring's back, as high as its front but farther,
    # projects a few pixels above it, beside the narrow neck, where no front point covers it
    yy, xx = np.mgrid[:512, :512]
    level = ((np.abs(xx - 250) < 30) & (yy > 150)) | ((yy >= 300) & (np.abs(xx - 250) < 150))
    rings = body_rings(CAM, level, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0, disc_sigma=0.0)
    _, _, normals = surface_discs(rings.points, rings.faces, tangent=0.55)
    past = np.isinf(seen_from_photo(rings.points, normals, CAM, np.ones(len(rings.points), bool)))
    cos = (normals * -rings.points).sum(1) / np.linalg.norm(rings.points, axis=1)
    uv = CAM.project(rings.points)
    assert past.sum() >= 5 and (cos[past] < 0).all()
    assert ((uv[past, 1] > 285) & (uv[past, 1] < 300) & (np.abs(uv[past, 0] - 250) > 30)).all()


def test_a_body_the_photos_lower_edge_cuts_is_closed_by_a_lid():
    """The photo's lower edge cuts the person: the body goes on below it, so its lowest ring is closed by a lid
    facing down, inside the ring, as high as the ring, that leaves the mesh without a hole at the bottom (from a
    camera lower than the photo's the inside of the back showed through it as a dark band). A body that ends
    inside the photo (LAM's faded busts) gets none."""
    import trimesh

    from lam_core.reconstruct.bust import body_lid

    rings = body_rings(CAM, _silhouette(), CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.3)
    pts, faces, cen = rings.points, rings.faces, rings.centres
    made = body_lid(rings, CAM)
    assert made is not None
    inner, lid_faces = made
    lowest = pts[rings.ring == len(cen) - 1]
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
    assert body_lid(body_rings(CAM, short, CHIN, 150.0, np.array([0.0, 0.0, DEPTH]), 0.0), CAM) is None
