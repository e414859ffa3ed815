"""The default reconstructor: pose/camera maths, the open-head and FLAME fits, colours, and the quality on
the example photo (loosely: the exact figures are printed by `make bench`)."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.spatial.transform import Rotation

from lam_core import ModelFileError
from lam_core.camera import Camera
from lam_core.landmark_embedding import compute_landmark_embedding, load_landmark_embedding
from lam_core.photo import detect_face, foreground_mask
from lam_core.photo.landmarks import FaceLandmarks
from lam_core.reconstruct.analytic import reconstruct
from lam_core.reconstruct.colour import harmonic_fill, visible
from lam_core.reconstruct.fit_flame import fit_flame
from lam_core.reconstruct.pose import photo_camera, similarity_procrustes
from lam_core.reconstruct.quality import front_quality, orbit_about_head
from lam_core.render import render_posed


def test_similarity_procrustes_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(40, 3))
    rot = Rotation.from_rotvec([0.3, -1.2, 2.0]).as_matrix()
    dst = 7.5 * src @ rot.T + [3, -2, 1]
    sim = similarity_procrustes(src, dst, rng.uniform(0.5, 1.0, 40))
    assert sim.scale == pytest.approx(7.5)
    np.testing.assert_allclose(sim.rotation, rot, atol=1e-10)
    np.testing.assert_allclose(sim.invert(dst), src, atol=1e-10)


def test_photo_camera_reproduces_the_weak_perspective_view_near_the_anchor():
    rot = Rotation.from_rotvec([np.pi, 0.1, 0]).as_matrix()  # head frame (y up, z to viewer) -> image axes
    sim = similarity_procrustes(np.eye(3), 600 * np.eye(3) @ rot.T + [250, 240, 0])
    cam = photo_camera(sim, 512, 512, anchor=np.zeros(3))
    p = np.array([[0.0, 0, 0], [0.01, 0.005, 0]])
    np.testing.assert_allclose(cam.project(p)[:, :2], sim.apply(p)[:, :2], atol=0.1)


def test_orbit_about_head_turns_like_camera_orbit_about_the_cameras_own_axes():
    """Turning the photo camera about the head agrees with Camera.orbit (and lam-render --yaw/--pitch):
    positive pitch raises the camera, and both turns are about the camera's axes, not the head's."""
    centre = np.array([0.01, 0.02, -0.03])
    for base_yaw, base_pitch in ((0.0, 0.0), (40.0, 0.0), (-25.0, 10.0)):
        cam = Camera.orbit(centre, 0.9, base_yaw, base_pitch)
        for yaw, pitch in ((0, 15), (0, -15), (30, 0), (-30, 0)):
            if base_pitch and yaw:
                continue  # yaw turns about the camera's (tilted) up, not the world's
            turned = orbit_about_head(cam, centre, yaw, pitch)
            want = Camera.orbit(centre, 0.9, base_yaw + yaw, base_pitch + pitch)
            np.testing.assert_allclose(turned.world_to_camera, want.world_to_camera, atol=1e-9)
    # a rolled camera pitches towards its own up, whatever the world's axes
    roll = np.eye(4)
    roll[:3, :3] = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    cam = Camera.orbit(centre, 0.9)
    rolled = Camera(512, 512, cam.fx, cam.fy, cam.cx, cam.cy, world_to_camera=roll @ cam.world_to_camera)
    up = -rolled.world_to_camera[1, :3]
    moved = orbit_about_head(rolled, centre, 0, 15).position - rolled.position
    assert moved @ up > 0.9 * np.linalg.norm(moved)


def test_harmonic_fill_and_visibility():
    # a strip of two rows of 5 vertices, known at both ends: each unknown is the mean of its neighbours
    faces = np.array([[0, 1, 5], [1, 2, 6], [2, 3, 7], [3, 4, 8], [1, 6, 5], [2, 7, 6], [3, 8, 7], [4, 9, 8]])
    vals = np.zeros((10, 1))
    vals[[0, 5]], vals[[4, 9]] = 0.0, 1.0
    known = np.zeros(10, bool)
    known[[0, 5, 4, 9]] = True
    out = harmonic_fill(vals, known, faces, default=np.zeros(1))
    nbrs = {i: set() for i in range(10)}
    for f in faces:
        for a in f:
            nbrs[a] |= set(f) - {a}
    for i in np.flatnonzero(~known):
        assert out[i, 0] == pytest.approx(np.mean([out[j, 0] for j in nbrs[i]]), abs=1e-12)
    assert (np.diff(out[:5, 0]) > 0).all() and (np.diff(out[5:, 0]) > 0).all()  # increasing along the strip
    # a component with nothing known takes the default
    faces2 = np.concatenate([faces, [[10, 11, 12]]])
    vals2, known2 = np.zeros((13, 1)), np.r_[known, [False] * 3]
    assert (harmonic_fill(vals2, known2, faces2, default=np.full(1, 0.7))[10:, 0] == 0.7).all()
    cam = Camera.look_at([0, 0, 1], [0, 0, 0], width=64, height=64)
    pts = np.array([[0.0, 0, 0.1], [0.0, 0, -0.1], [0.01, 0, 0.1]])
    normals = np.array([[0, 0, 1.0], [0, 0, 1.0], [0, 0, -1.0]])
    np.testing.assert_array_equal(visible(pts, normals, cam, 2.0), [True, False, False])


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    img = data.astronaut()
    return img, detect_face(img, "astronaut"), foreground_mask(img)


@pytest.fixture(scope="module")
def open_head_avatar(astronaut):
    """The astronaut as lam-export makes her: her body turned as her shoulders are (~10 degrees)."""
    from lam_core.photo.pose import shoulders, torso_yaw

    img, face, mask = astronaut
    yaw = torso_yaw(shoulders(img))
    assert abs(yaw) > 0.05
    return reconstruct(img, face, mask, torso_yaw=yaw)


def test_open_head_reconstruction(open_head_avatar, astronaut):
    img, face, mask = astronaut
    rec = open_head_avatar
    head = ~rec.avatar.points.in_region("bust")
    # LAM's count on the head, 20,019, less the back of the skull, the eyeballs' backs and the neck inside the
    # body, which are not subdivided (16,098 here)
    assert 15_000 < head.sum() < 17_500
    assert 3_000 < (~head).sum() < 10_000        # the neck, shoulders and upper body
    assert rec.avatar.n < 25_000                 # the budget: about LAM's 20K
    assert 0.3 < rec.seen.mean() < 0.6  # the photo shows the front of the head
    assert 0 <= rec.photo_params.pose[0, 2, 0] < 0.2  # a closed-lip smile: little or no jaw
    posed = rec.avatar.animate(rec.photo_params)
    # the face's landmarks land on the photo's: project the rig's landmarks with the fitted camera
    rig = rec.avatar.rig
    verts = rig.deform(rec.photo_params).vertices[0].numpy().astype(np.float64)
    uv = rec.camera.project(rig.landmarks.points(verts, rig.faces))[:468, :2]
    assert np.sqrt(((uv - face.points[:468, :2]) ** 2).sum(1).mean()) < 0.5
    out = render_posed(posed, rec.camera, backend="cpu")
    r = out.rgb_uint8()
    q = front_quality(r, img, mask, face.points, detect_face(r, "render").points, face.interocular_px)
    assert q.psnr >= 24.0 and q.ssim >= 0.85 and q.landmark_error <= 0.03, q
    # the whole person (the face and the coarser body): 19.4 dB measured (17.8 when the refinement sampled its
    # residual at each Gaussian's centre, and left the body alone), the goal is 24
    from lam_core.metrics import psnr
    from lam_core.reconstruct.quality import masked_photo

    whole = psnr(r / 255.0, masked_photo(img, mask), mask > 0.5)
    print(f"astronaut, front view: whole person {whole:.2f} dB, face {q.psnr:.2f} dB, SSIM {q.ssim:.3f}")
    assert whole >= 18.9
    # MediaPipe finds the face from +-30 degrees of yaw and +-15 of pitch
    from lam_core.reconstruct.quality import head_centre

    centre = head_centre(rec.avatar)
    for yaw, pitch in ((-30, 0), (30, 0), (0, 15), (0, -15)):
        cam = orbit_about_head(rec.camera, centre, yaw, pitch)
        detect_face(render_posed(posed, cam, backend="cpu").rgb_uint8(), f"render at yaw {yaw} pitch {pitch}")


def test_points_80k_subdivides_what_the_photo_cannot_show_one_level_less(astronaut):
    """--points 80k: the back of the skull, the eyeballs' backs and the hidden neck one subdivision coarser
    than the rest (~88,000 Gaussians on the astronaut; ~103,500 dense all over), sharper than the default from the
    front, and its hair's outline covered inside the silhouette (the back's wider discs pile up along it)."""
    from lam_core.metrics import psnr
    from lam_core.reconstruct.quality import masked_photo

    img, face, mask = astronaut
    rec = reconstruct(img, face, mask, levels=2)
    dense = rec.avatar.rig.subdivide(2).n_points
    assert 0.75 * dense < rec.avatar.n < 0.92 * dense, (rec.avatar.n, dense)
    out = render_posed(rec.avatar.animate(rec.photo_params), rec.camera, backend="cpu")
    whole = psnr(out.rgb_uint8() / 255.0, masked_photo(img, mask), mask > 0.5)
    assert whole >= 20.3, whole  # 20.79 measured; the default's 19.40, dense all over 20.56
    # the hair's outline: mean alpha 1-3 px inside the silhouette, above the face (0.70; dense all over 0.58,
    # the default 0.90: its discs are twice as wide)
    inside = ndimage.distance_transform_edt(mask > 0.5)
    band = (inside > 1) & (inside <= 3)
    band[int(face.points[:468, 1].min()):] = False
    assert out.alpha.numpy().squeeze()[band].mean() >= 0.65


def test_the_bust_holds_up_from_every_side(open_head_avatar, astronaut):
    """The body below the chin: its silhouette is the person's from the front, it stays still while the head
    turns on the neck, and from behind nothing shows through."""
    from lam_core.reconstruct.quality import head_centre

    img, face, mask = astronaut
    rec = open_head_avatar
    pts = rec.avatar.points
    body = pts.in_region("bust")
    np.testing.assert_allclose(pts.lbs_weights[body, 0], 1.0, atol=1e-6)  # skinned to the root alone
    posed = rec.avatar.animate(rec.photo_params)
    front = render_posed(posed, rec.camera, backend="cpu")
    ours, person = front.alpha.numpy().squeeze() > 0.5, mask > 0.5
    iou = (ours & person).sum() / (ours | person).sum()
    assert iou > 0.85, iou
    # all of the person is covered, beside the neck above the chin too (the helmet's neck ring rises there:
    # 622 pixels uncovered when the body began at the chin): at most a thin band along the outline, no hole
    uncovered = ndimage.binary_erosion(person, iterations=3) & ~ours
    assert uncovered.sum() < 0.003 * person.sum(), uncovered.sum()
    assert ndimage.binary_erosion(uncovered, iterations=2).sum() < 0.0003 * person.sum()
    # ... and little stands past it: the body's discs keep inside the silhouette's level edges (the shoulders'
    # tops), where they stood 5-8 px past it before (2,542 px more than 3 px outside the person, 1,331 now)
    halo = ours & ~ndimage.binary_dilation(person, iterations=3)
    assert halo.sum() < 0.012 * person.sum(), halo.sum()
    # the cranium is carved to the silhouette: seen from the photo's camera it never bulges past the person
    from lam_core.reconstruct.bust import person_silhouette

    sil = ndimage.binary_dilation(person_silhouette(mask, face.points), iterations=2)
    uv = rec.camera.project(posed.means[0].numpy()[pts.in_region("cranium")])
    u = np.clip(uv[:, 0].astype(int), 0, sil.shape[1] - 1)
    v = np.clip(uv[:, 1].astype(int), 0, sil.shape[0] - 1)
    assert sil[v, u].mean() > 0.98, sil[v, u].mean()
    # the head turns on the neck; the shoulders stay
    turn = rec.photo_params[0:1]
    turn = type(turn)(turn.expr.clone(), turn.pose.clone(), turn.translation.clone())
    turn.pose[0, 1, 1] = 0.5
    moved = np.linalg.norm(rec.avatar.animate(turn).means[0].numpy() - posed.means[0].numpy(), axis=1)
    assert moved[body].max() < 1e-5 and np.median(moved[~body]) > 0.01
    # the photo's lower edge cuts the astronaut: the body is not faded out (the front view is the photo down to
    # that edge), only kept off the backdrop (opacity 0) where the silhouette parts
    opacity = rec.avatar.gaussians.opacities
    assert np.all((opacity[body] == 0) | (opacity[body] > 0.97)) and np.all(opacity[~body] > 0.97)
    # the photo's lower edge cuts her: the body is closed there by a lid that takes the colours of the clothing
    # on the photo's lowest rows (not the back's, a dark band under the bust seen from the page's camera): the
    # photo's colours at the seen points there (as sampled, before the front view's refinement)
    from lam_core.reconstruct.colour import bilinear

    lid = pts.in_region("bust_lid") & ~rec.seen
    assert lid.sum() > 100
    colours = rec.avatar.gaussians.colors
    uv = rec.camera.project(posed.means[0].numpy().astype(np.float64))
    bottom = body & rec.seen & (uv[:, 1] > img.shape[0] - 8)
    low = bilinear(img / 255.0, uv[bottom, 0], uv[bottom, 1])
    from scipy.spatial import cKDTree

    assert cKDTree(low).query(colours[lid])[0].max() < 1e-5
    # from behind: opaque inside the silhouette
    behind = orbit_about_head(rec.camera, head_centre(rec.avatar), 180, 0)
    back = render_posed(posed, behind, backend="cpu")
    alpha = back.alpha.numpy().squeeze()
    inside = ndimage.binary_erosion(alpha > 0.5, iterations=3)
    assert inside.sum() > 0.5 * person.sum()
    assert (alpha[inside] >= 0.99).mean() > 0.99 and alpha[inside].min() > 0.5  # 0.997 here: only edge pixels are soft
    # and nothing inside the head shows through its back: without the eyeballs, sockets, mouth and teeth the
    # picture from behind is the same
    from dataclasses import replace

    from lam_core.gaussians import GaussianAvatar

    inner = np.zeros(pts.n_points, bool)
    for region in ("eyeball_l", "eyeball_r", "socket_l", "socket_r", "mouth", "teeth_upper", "teeth_lower"):
        inner |= pts.in_region(region)
    g = rec.avatar.gaussians
    hollow = GaussianAvatar(pts, replace(g, opacities=np.where(inner, 0.0, g.opacities).astype(np.float32)))
    back2 = render_posed(hollow.animate(rec.photo_params), behind, backend="cpu")
    through = np.abs(back.rgb.numpy() - back2.rgb.numpy()).max(-1)
    assert through.max() < 0.02, through.max()


def test_above_the_chin_a_collar_keeps_the_rings_sides_and_an_ear_is_a_thin_piece(astronaut):
    """Above the chin the body's rings keep what the silhouette shows beside the head. A collar, which hangs
    together with the body below the chin, keeps the ring's sides, front to back. An ear wider than the head
    model's touches nothing below the chin: the rings there made a slab running from the cheek to the back of
    the head (pale, from the side, on LAM's p2-1); now it is a piece EAR_HALF_DEPTH either side of the ring's
    rim, where the photo shows the ear."""
    from lam_core.open_head import load_open_head_parts
    from lam_core.reconstruct.bust import CHIN, EAR_HALF_DEPTH, EYES, add_bust, head_footprint, source_rows
    from lam_core.reconstruct.fit_open_head import fit_open_head
    from lam_core.rig import Rig

    img, face, mask = astronaut
    head = load_open_head_parts()
    fit = fit_open_head(head, face, mask)
    rig = Rig.from_head_model(head.model, fit.shape)
    cam, params = fit.camera, fit.params
    with torch.no_grad():
        sk = rig.deform(params)
    foot = head_footprint(sk.vertices[0].numpy().astype(np.float64), rig.faces, cam)
    chin_v, eyes_v = float(face.points[CHIN, 1]), float(face.points[EYES, 1].mean())
    h = chin_v - eyes_v
    yy, xx = np.mgrid[: cam.height, : cam.width]
    row = int(eyes_v + 0.35 * h)
    cols = np.flatnonzero(foot[row])
    body = (yy > chin_v - 2) & (np.abs(xx - face.points[CHIN, 0]) < 0.6 * h + 1.5 * (yy - chin_v).clip(0))
    ears = np.zeros_like(foot)
    for edge, out in ((cols.min(), -1), (cols.max(), 1)):   # a disc beside each side, 26 px past the head
        ears |= (xx - (edge + out * 6)) ** 2 + ((yy - row) / 2.0) ** 2 < 20 ** 2
    ears &= ~foot
    collar = (yy > eyes_v + 0.6 * h) & (np.abs(xx - face.points[CHIN, 0]) < 0.9 * h) & ~foot
    neck = sk.joints[0, rig.joint_names.index("neck")].numpy().astype(np.float64)

    def beside(sil):
        """The depths (about the neck's) of the body's points above the chin that lie beside the head, and
        their pixels."""
        bust = add_bust(rig, params, cam, foot | body | sil, face.points, face.height_px)
        with torch.no_grad():
            posed = bust.deform(params).vertices[0].numpy().astype(np.float64)[bust.regions["bust"]]
        uv = cam.project(posed)
        u = np.clip(uv[:, 0].astype(int), 0, cam.width - 1)
        v = np.clip(uv[:, 1].astype(int), 0, cam.height - 1)
        above = (source_rows(posed, cam, neck) < chin_v - 4) & ~foot[v, u]
        return posed[above] @ cam.world_to_camera[2, :3] - cam.world_to_camera[2, :3] @ neck, (v[above], u[above])

    dz, _ = beside(collar)
    assert np.ptp(dz) > 0.1                                     # the collar: a ring's sides, front to back
    dz, (v, u) = beside(ears)
    assert len(dz) > 20 and np.abs(dz).max() <= EAR_HALF_DEPTH + 1e-6   # the ears: thin pieces, no slab
    assert ears[v, u].mean() > 0.9                              # where the photo shows them


def test_hair_beyond_the_skull_grows_as_a_volume_behind_the_face(astronaut):
    """A bun in the photo's silhouette above the head: the back half of the cranium grows up into it, the
    face and the front of the head stay where the photo put them."""
    from lam_core.open_head import load_open_head_parts
    from lam_core.reconstruct.bust import person_silhouette
    from lam_core.reconstruct.carve import carve_to_silhouette, grow_to_silhouette
    from lam_core.reconstruct.fit_open_head import fit_open_head
    from lam_core.rig import Rig

    img, face, mask = astronaut
    head = load_open_head_parts()
    fit = fit_open_head(head, face, mask)
    rig = Rig.from_head_model(head.model, fit.shape)
    pad = 120  # the photo's head nearly touches its top edge: give the silhouette room above it
    c = fit.camera
    cam = Camera(c.width, c.height + pad, c.fx, c.fy, c.cx, c.cy + pad, world_to_camera=c.world_to_camera)
    sil = np.pad(person_silhouette(mask, face.points), ((pad, 0), (0, 0)))

    def posed(r):
        with torch.no_grad():
            return r.deform(fit.params).vertices[0].numpy().astype(np.float64)

    before = posed(rig)
    uv = cam.project(before[: rig.n_vertices])
    top = uv[:, 1].min()
    cx = 0.5 * (uv[:, 0].min() + uv[:, 0].max())
    bun = sil.copy()
    yy, xx = np.mgrid[: sil.shape[0], : sil.shape[1]]
    radius = 0.12 * (uv[:, 1].max() - top)
    bun |= (xx - cx) ** 2 + (yy - (top - 0.6 * radius)) ** 2 < radius ** 2  # a bun on top of the head
    grown = grow_to_silhouette(rig, fit.params, cam, bun)
    after = posed(grown)
    cranium = rig.regions["cranium"]
    not_cranium = np.setdiff1d(np.arange(rig.n_vertices), cranium)
    np.testing.assert_array_equal(after[not_cranium], before[not_cranium])
    new_top = cam.project(after[cranium])[:, 1].min()
    assert new_top < top - 0.8 * radius, (top, new_top, radius)  # the outline reaches up into the bun
    moved = np.linalg.norm(after[cranium] - before[cranium], axis=1) > 1e-4
    z = cam.project(before[cranium])[:, 2]
    assert z[moved].min() > np.median(cam.project(before[: rig.n_vertices])[:, 2]) - 1e-3  # behind the face
    # and with the photo's own silhouette (no bun), grown then carved as the pipeline does, nothing that
    # moved ends up past it
    same = carve_to_silhouette(grow_to_silhouette(rig, fit.params, cam, sil), fit.params, cam, sil)
    uv2 = cam.project(posed(same)[cranium])
    u, v = np.clip(uv2[:, 0].astype(int), 0, sil.shape[1] - 1), np.clip(uv2[:, 1].astype(int), 0, sil.shape[0] - 1)
    grew = np.linalg.norm(posed(same)[cranium] - before[cranium], axis=1) > 1e-4
    assert ndimage.binary_dilation(sil, iterations=2)[v[grew], u[grew]].mean() > 0.98  # as carving alone


def test_hair_is_as_thick_behind_the_head_as_the_photo_shows_it_above(astronaut):
    """Hair covers the whole scalp: a silhouette that shows an even band of hair round the top of the head
    makes the back of the head that much deeper, each back vertex moved along its own ray from the photo's
    camera (the photo's view of it does not change); a silhouette inside the skull moves nothing back."""
    from scipy.spatial import cKDTree

    from lam_core.open_head import load_open_head_parts
    from lam_core.reconstruct.carve import grow_to_silhouette
    from lam_core.reconstruct.fit_open_head import fit_open_head
    from lam_core.rig import Rig

    img, face, mask = astronaut
    head = load_open_head_parts()
    fit = fit_open_head(head, face, mask)
    rig = Rig.from_head_model(head.model, fit.shape)
    pad = 120
    c = fit.camera
    cam = Camera(c.width, c.height + pad, c.fx, c.fy, c.cx, c.cy + pad, world_to_camera=c.world_to_camera)

    def posed(r):
        with torch.no_grad():
            return r.deform(fit.params).vertices[0].numpy().astype(np.float64)

    before = posed(rig)
    uvz = cam.project(before)
    yy, xx = np.mgrid[: cam.height, : cam.width]
    grid = np.stack([xx.ravel(), yy.ravel()], 1)
    near = cKDTree(uvz[:, :2]).query(grid)[0].reshape(cam.height, cam.width)
    band_px = 20.0
    cranium = rig.regions["cranium"]
    z = uvz[cranium, 2]
    back = cranium[z > z.max() - 0.01]                       # the back of the head, as the camera sees it
    grown = posed(grow_to_silhouette(rig, fit.params, cam, near < band_px))
    moved = grown[back] - before[back]
    ray = before[back] - cam.position
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    along = (moved * ray).sum(1)
    want = band_px * np.median(uvz[cranium, 2]) / cam.fx
    assert np.median(along) == pytest.approx(want, rel=0.15), (np.median(along), want)
    np.testing.assert_allclose(cam.project(grown[back])[:, :2], uvz[back, :2], atol=0.05)  # same in the photo
    # half the band, half the depth
    thin = posed(grow_to_silhouette(rig, fit.params, cam, near < band_px / 2))
    assert np.median(((thin[back] - before[back]) * ray).sum(1)) == pytest.approx(want / 2, rel=0.2)
    # a silhouette inside the skull: nothing grows, nothing moves back
    same = posed(grow_to_silhouette(rig, fit.params, cam, near < 1.0))
    np.testing.assert_array_equal(same[back], before[back])


def test_discs_the_photo_does_not_see_stop_inside_the_silhouette():
    """A disc whose footprint (INSIDE_SIGMAS of its spread across the outline) passes the silhouette's edge
    moves inwards by the excess, parallel to the image plane, however far out it was; a disc well inside, and
    one seen edge-on across the outline (only its thickness across it), stay; a point behind the camera too."""
    from lam_core.reconstruct.carve import INSIDE_SIGMAS, inside_offsets

    cam = Camera(200, 200, 200.0, 200.0, 100.0, 100.0)
    sil = np.zeros((200, 200), bool)
    sil[:, :120] = True                                   # the edge: u = 120 (pixel 119 spans 119..120)
    facing_camera, edge_on = [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]
    x = np.array([0.05, 0.09, 0.09, 0.10, 0.115, 0.09])  # u = 110, 118, 118, 120, 123, (behind the camera)
    pts = np.stack([x, np.zeros(6), [1.0, 1.0, 1.0, 1.0, 1.0, -1.0]], 1)
    normals = np.array([facing_camera, facing_camera, edge_on, facing_camera, edge_on, facing_camera])
    spread, thickness = np.full(6, 0.01), np.full(6, 0.001)   # 2 px and 0.2 px at 1 m
    moves = inside_offsets(pts, normals, spread, thickness, cam, sil)
    u0, u1 = cam.project(pts)[:, 0], cam.project(pts + moves)[:, 0]
    np.testing.assert_allclose(moves[:, 1:], 0.0, atol=1e-12)      # sideways only: same row, same depth
    assert not moves[[0, 2, 5]].any()                     # 10 px inside; edge-on 2 px inside; behind
    for i, reach in ((1, INSIDE_SIGMAS * 2.0), (3, INSIDE_SIGMAS * 2.0), (4, INSIDE_SIGMAS * 0.2)):
        assert u1[i] < u0[i]
        assert u1[i] + reach == pytest.approx(120.0, abs=0.25), (i, u1[i])
    assert not inside_offsets(pts, normals, spread, thickness, cam, np.zeros_like(sil)).any()


def test_moves_in_the_posed_frame_carry_back_to_the_rest_frame_through_the_skinning():
    """A small move wanted in the posed frame, carried to the rest frame (carve.to_rest), is that move once the
    point is skinned again: for one joint (the inverse is the transpose) and for a blend of two."""
    from lam_core.reconstruct.carve import to_rest

    r = torch.from_numpy(np.stack([Rotation.from_euler("y", 90, degrees=True).as_matrix(),
                                   Rotation.from_euler("x", 30, degrees=True).as_matrix()]))
    weights = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.4]])
    delta = np.array([[0.01, 0.0, 0.0], [0.0, 0.01, 0.0], [0.003, -0.002, 0.01]])
    rest = to_rest(weights, r, delta)
    blended = np.einsum("nj,jab->nab", weights, r.numpy())
    np.testing.assert_allclose(np.einsum("nab,nb->na", blended, rest), delta, atol=1e-12)
    np.testing.assert_allclose(rest[0], r.numpy()[0].T @ delta[0], atol=1e-12)


def test_the_hair_keeps_the_photos_colours_to_its_outline_and_no_halo_past_it(open_head_avatar, astronaut):
    """Once the cranium is carved to the silhouette its outline is the photo's: the hair's points near it take
    the photo's colours (a cranium not carved keeps 10 px from the mask's soft edge), and the wide discs of the
    back of the head, which the photo does not see, stop inside it rather than blur the hair into a halo."""
    from lam_core.reconstruct.bust import person_silhouette

    img, face, mask = astronaut
    rec = open_head_avatar
    out = render_posed(rec.avatar.animate(rec.photo_params), rec.camera, backend="cpu")
    alpha, rgb = out.alpha.numpy().squeeze(), out.rgb.numpy().astype(np.float64)
    sil = person_silhouette(mask, face.points)
    above = np.zeros_like(sil)
    above[: int(face.points[[33, 263], 1].mean())] = True  # above the eyes: the hair's outline
    outer, inner = ndimage.distance_transform_edt(~sil), ndimage.distance_transform_edt(sil)
    band = above & (inner > 3) & (inner <= 10)
    err = ((rgb - img / 255.0) ** 2).mean(-1)[band].mean()
    # 19.0 dB when the hair kept 10 px from the mask's edge; 25.5 measured
    assert -10 * np.log10(err) > 23.0
    halo = alpha[above & (outer > 2.5) & (outer <= 6.5)].mean()
    assert halo < 0.175, halo                              # 0.197 with the back's discs where they fell; 0.152
    assert alpha[band].mean() > 0.99                       # and the outline itself still covered
    # only the discs the photo does not see moved (the seen ones keep their place on their photo pixel), and
    # skinned to the photo's pose they are where they were sent: asked again, they need (almost) no further move
    # (one step along the smoothed outline's normal: 0.03 px in the median, 0.4 at the 99th percentile)
    from lam_core.reconstruct.carve import inside_offsets
    from lam_core.rotations import quaternion_to_matrix

    offsets = rec.avatar.gaussians.offsets
    assert not offsets[rec.seen].any() and np.abs(offsets).max() > 1e-3
    moved = np.flatnonzero(np.abs(offsets).sum(1) > 0)
    posed = rec.avatar.animate(rec.photo_params)
    normals = quaternion_to_matrix(posed.quats[0])[moved, :, 2].numpy().astype(np.float64)
    scales = rec.avatar.gaussians.scales[moved].astype(np.float64)
    again = inside_offsets(posed.means[0].numpy().astype(np.float64)[moved], normals, scales[:, :2].max(1),
                           scales[:, 2], rec.camera, sil)
    again_px = np.linalg.norm(again, axis=1) * rec.camera.fx / rec.camera.project(posed.means[0].numpy()[moved])[:, 2]
    assert np.percentile(again_px, 99) < 0.6 and np.median(again_px) < 0.1, np.percentile(again_px, [50, 99])


def test_the_body_keeps_off_the_backdrop_between_shoulder_lobes_and_fades_at_its_end():
    """A silhouette row that parts in two lobes: the body's points over the gap are kept out (one-view visual
    hull); the body's opacity falls smoothly to 0 over its lowest band and is full above it."""
    from lam_core.reconstruct.bust import FADE_FACES, body_fade, inside_silhouette

    cam = Camera(100, 100, 100.0, 100.0, 50.0, 50.0)
    mask = np.zeros((100, 100), np.float32)
    mask[:, 10:40] = 1.0
    mask[:, 60:90] = 1.0
    mask[:, 25] = 0.0  # a gap narrower than the edge slack does not part the body
    pts = np.array([[-0.25, 0.0, 1.0], [0.0, 0.0, 1.0], [0.25, 0.0, 1.0], [0.0, 0.0, 1.3], [-0.245, 0.0, 1.0]])
    np.testing.assert_array_equal(inside_silhouette(pts, cam, mask), [1.0, 0.0, 1.0, 0.0, 1.0])
    h = np.linspace(-0.3, 0.0, 31)
    f = body_fade(h, 0.2)
    assert f[0] == 0.0 and np.all(np.diff(f) >= 0)
    assert np.all(f[h >= -0.3 + FADE_FACES * 0.2 + 1e-9] == 1.0) and 0 < f[1] < 0.1


def test_the_face_discs_cover_the_skin(open_head_avatar, astronaut):
    """The face's Gaussians alone, seen from the photo's camera, are opaque between the points: with discs too
    small for their spacing what lay behind the skin showed through as a fine grid."""
    from lam_core.render import render_gaussians

    img, face, mask = astronaut
    rec = open_head_avatar
    cam = rec.camera
    lo, hi = face.points[:468, :2].min(0), face.points[:468, :2].max(0)
    half = 0.55 * float((hi - lo).max())
    x0, y0 = (lo + hi) / 2 - half
    k = 256 / (2 * half)  # about 2x the photo's scale: the grid showed close up
    crop = Camera(256, 256, cam.fx * k, cam.fy * k, (cam.cx - x0) * k, (cam.cy - y0) * k,
                  world_to_camera=cam.world_to_camera)
    posed = rec.avatar.animate(rec.photo_params)
    sel = torch.from_numpy(np.flatnonzero(rec.avatar.points.in_region("face")))
    out = render_gaussians(posed.means[0][sel], posed.quats[0][sel], posed.scales[sel],
                           torch.ones(len(sel), 3), posed.opacities[sel], crop, backend="cpu")
    alpha = out.alpha.numpy().squeeze()
    inside = ndimage.binary_erosion(alpha > 0.5, iterations=4)  # away from the face's edges and eye holes
    assert inside.sum() > 0.3 * alpha.size
    # measured: 1st percentile 0.944, 42% at >= 0.99 (discs of 0.5x the spacing: 0.905 and 23%)
    assert np.percentile(alpha[inside], 1) >= 0.93 and (alpha[inside] >= 0.99).mean() > 0.35


def test_refinement_keeps_the_teeth_the_photos_colour(open_head_avatar, astronaut):
    """The teeth the photo shows keep the photo's colour there: render-and-correct leaves alone the Gaussians
    the render hides (teeth behind the lips), whose residuals once piled up into reddish dots on the teeth."""
    from lam_core.reconstruct.colour import bilinear

    img, face, mask = astronaut
    rec = open_head_avatar
    pts = rec.avatar.points
    teeth = (pts.in_region("teeth_upper") | pts.in_region("teeth_lower")) & rec.seen
    assert teeth.sum() > 20  # the smile shows the upper teeth
    uv = rec.camera.project(rec.avatar.animate(rec.photo_params).means[0].numpy().astype(np.float64))
    colours = rec.avatar.gaussians.colors[teeth]
    dev = np.abs(colours - bilinear(img / 255.0, uv[teeth, 0], uv[teeth, 1])).max(1)
    assert dev.mean() < 0.06 and np.percentile(dev, 95) < 0.2, (dev.mean(), np.percentile(dev, 95))
    assert colours[:, 1].min() > 0.35  # no dark red dots


def test_refinement_stays_within_the_photos_colours_round_each_point(open_head_avatar, astronaut):
    """Render-and-correct sharpens, and at a strong edge (skin beside dark hair) its steps overshoot: 71 seen
    skin and hair Gaussians of the astronaut (built turned, as here) went near-white where the photo is not
    (white dots from the side, dark specks in the hair). Each refined colour now stays within the photo's
    colours round its pixel: within the Gaussian's own sigma there (it is fitted to the pixels where it shows),
    at least REFINE_RANGE_PX, at most MAX_RANGE_PX."""
    import torch

    from lam_core.reconstruct.analytic import MAX_RANGE_PX, REFINE_RANGE_PX
    from lam_core.reconstruct.colour import bilinear
    from lam_core.render.projection import intrinsics_tensors, project_gaussians

    img, face, mask = astronaut
    rec = open_head_avatar
    pts = rec.avatar.points
    posed = rec.avatar.animate(rec.photo_params)
    viewmat, K = intrinsics_tensors(rec.camera)
    proj = project_gaussians(posed.means[0], posed.quats[0], posed.scales, posed.opacities, viewmat, K,
                             rec.camera.width, rec.camera.height)
    a, b, c = (proj.conics[:, k].numpy().astype(np.float64) for k in range(3))
    smallest = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b ** 2)      # the conic's smaller eigenvalue
    reach = np.clip(np.round(1 / np.sqrt(np.maximum(smallest, 1e-9))), REFINE_RANGE_PX, MAX_RANGE_PX).astype(int)
    uv = rec.camera.project(posed.means[0].numpy().astype(np.float64))
    for name, sel in [("skin and hair", (pts.in_region("face") | pts.in_region("cranium")) & rec.seen),
                      ("body", pts.in_region("bust") & rec.seen)]:
        colours = rec.avatar.gaussians.colors[sel].astype(np.float64)
        photo = bilinear(img / 255.0, uv[sel, 0], uv[sel, 1])
        if name == "skin and hair":
            assert ((colours.min(1) > 0.9) & (photo.min(1) < 0.8)).sum() <= 5
            assert np.percentile(reach[sel], 90) <= 2          # the face's discs are a pixel or two across
        u, v, r = uv[sel, 0].astype(int), uv[sel, 1].astype(int), reach[sel]
        for k in np.unique(r):
            at = r == k
            for ch in range(3):
                lo = ndimage.minimum_filter(img[..., ch] / 255.0, size=2 * k + 1)[v[at], u[at]]
                hi = ndimage.maximum_filter(img[..., ch] / 255.0, size=2 * k + 1)[v[at], u[at]]
                assert np.all((colours[at, ch] >= lo - 1e-6) & (colours[at, ch] <= hi + 1e-6)), (name, k)
        # and it still sharpens: the refined colours differ from the photo's sampled ones
        assert np.abs(colours - photo).max(1).mean() > 0.02, name


def test_no_seam_where_the_photo_stops_seeing_the_face(open_head_avatar):
    """Points the photo does not see next to ones it does (the side of the nose, the fold under it) take their
    neighbours' colours, not their mirror image's (lit from the other side): the colour step across the
    seen/unseen boundary of the face stays near the step between seen neighbours (2.6x before; 1.8x now)."""
    rec = open_head_avatar
    pts, seen = rec.avatar.points, rec.seen
    col = rec.avatar.gaussians.colors.astype(np.float64)
    face = pts.in_region("face")
    f = pts.faces
    e = np.unique(np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), 1), axis=0)
    e = e[face[e[:, 0]] & face[e[:, 1]]]
    step = np.abs(col[e[:, 0]] - col[e[:, 1]]).max(1)
    boundary = seen[e[:, 0]] != seen[e[:, 1]]
    inside = seen[e[:, 0]] & seen[e[:, 1]]
    assert boundary.sum() > 100
    assert step[boundary].mean() < 2.2 * step[inside].mean(), (step[boundary].mean(), step[inside].mean())


def test_canonical_avatar_closes_an_open_mouth(astronaut):
    """A photo with the jaw open gives a canonical avatar with the jaw closed and the opening in the pose."""
    img, face, mask = astronaut
    pts = face.points.copy()
    from lam_core.open_head import load_open_head_parts

    model = load_open_head_parts().model
    jaw_w = model.lbs_weights[:478, 2] if model.n_vertices >= 478 else None
    lower = np.flatnonzero(jaw_w[:468] > 0.5)
    pts[lower, 1] += 0.12 * face.height_px  # drop the lower lip and chin
    opened = FaceLandmarks(points=pts, n_faces=1, image_size=face.image_size)
    rec = reconstruct(img, opened, mask)
    assert rec.photo_params.pose[0, 2, 0] > 0.1
    rest = rec.avatar.rig.vertices
    gap = rest[13, 1] - rest[14, 1]
    assert abs(gap - (model.v_template[13, 1] - model.v_template[14, 1])) < 0.004


@pytest.fixture(scope="module")
def flame_with_embedding(flame_model):
    return flame_model.with_landmarks(compute_landmark_embedding(flame_model))


def test_computed_embedding(flame_with_embedding):
    lm = flame_with_embedding.landmarks
    assert len(lm.ids) == 478 and (lm.bary >= -1e-9).all()
    pts = lm.points(flame_with_embedding.v_template.astype(np.float64), flame_with_embedding.faces)
    assert pts[1, 2] == pytest.approx(flame_with_embedding.v_template[:, 2].max(), abs=0.005)  # nose tip
    assert pts[263, 0] > 0.02 and pts[33, 0] < -0.02  # subject's left eye at +x


def test_embedding_file(tmp_path, flame_model):
    p = tmp_path / "emb.npz"
    np.savez(p, lmk_face_idx=np.array([0, 5, 9]), lmk_b_coords=np.full((3, 3), 1 / 3), landmark_indices=[1, 33, 263])
    lm = load_landmark_embedding(p, flame_model)
    assert list(lm.ids) == [1, 33, 263]
    np.savez(p, lmk_face_idx=np.array([0, 5, 10 ** 6]), lmk_b_coords=np.full((3, 3), 1 / 3),
             landmark_indices=[1, 33, 263])
    with pytest.raises(ModelFileError, match="outside"):
        load_landmark_embedding(p, flame_model)
    np.savez(p, lmk_face_idx=np.array([0]))
    with pytest.raises(ModelFileError, match="missing key"):
        load_landmark_embedding(p, flame_model)


def test_flame_fit_recovers_jaw_and_landmarks(flame_with_embedding):
    m = flame_with_embedding
    rng = np.random.default_rng(1)
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)[None]  # noqa: E731
    pose = np.zeros((5, 3))
    pose[2, 0] = 0.15
    out = m.forward(t(rng.normal(size=300) * 0.8), t(rng.normal(size=100) * 0.5), t(pose))
    lm = m.landmarks.points(out.vertices[0].numpy().astype(np.float64), m.faces)
    cam = Camera.look_at([0.05, 0.02, 0.9], [0, 0, 0.03], fov_deg=30)
    uvz = cam.project(lm)
    s = cam.fx / uvz[:, 2].mean()
    pts = np.zeros((478, 3))
    pts[m.landmarks.ids] = np.c_[uvz[:, :2], (uvz[:, 2] - uvz[:, 2].mean()) * s]
    fit = fit_flame(m, FaceLandmarks(pts, 1, (512, 512)), focal=cam.fx)
    assert fit.params.pose[0, 2, 0].item() == pytest.approx(0.15, abs=0.02)
    assert fit.residual_px < 1.0


def test_flame_reconstruction_runs(flame_with_embedding, astronaut):
    img, face, mask = astronaut
    rec = reconstruct(img, face, mask, head=flame_with_embedding)
    assert rec.avatar.n == 20018 and rec.avatar.rig.n_expr == 100
    assert np.isfinite(rec.avatar.gaussians.colors).all()


def test_a_bust_that_ends_inside_the_photo_fades_out_and_keeps_to_its_silhouette(shared_data):
    """LAM's own avatar rendered from the front is a bust that fades out above the picture's lower edge: the
    export fades out alike, and seen from the photo's camera it keeps to the person's silhouette (the body's
    discs used to spread past it: a grey skirt under the bust; IoU 0.87 then, 0.92 now)."""
    from exporter.official_zip import read_official_zip
    from lam_core.reconstruct.quality import front_view

    zp = shared_data / "lam_official" / "p2-1.zip"
    if not zp.is_file():
        pytest.skip(f"sample official avatar {zp} is not present")
    truth = read_official_zip(zp, motions=False).to_avatar()
    posed, cam = front_view(truth)
    photo = render_posed(posed, cam, backend="cpu").rgb_uint8()
    face, mask = detect_face(photo, "p2-1 front"), foreground_mask(photo)
    rec = reconstruct(photo, face, mask)
    pts = rec.avatar.points
    body = pts.in_region("bust")
    ours = render_posed(rec.avatar.animate(rec.photo_params), rec.camera, backend="cpu").alpha.numpy().squeeze() > 0.5
    person = mask > 0.5
    assert (ours & person).sum() / (ours | person).sum() > 0.9
    # the lowest rows of the body fade to nothing, its upper part is opaque (or kept off the backdrop); a point's
    # row is its ring's (the back, farther, projects higher)
    from lam_core.reconstruct.bust import source_rows

    with torch.no_grad():
        neck = pts.deform(rec.photo_params).joints[0, list(pts.rig.joint_names).index("neck")].numpy()
    means = rec.avatar.animate(rec.photo_params).means[0].numpy().astype(np.float64)
    rows = source_rows(means[body], rec.camera, neck.astype(np.float64))
    opacity = rec.avatar.gaussians.opacities[body]
    assert opacity[rows > np.percentile(rows, 98)].mean() < 0.2
    upper = rows < np.percentile(rows, 50)
    assert np.all((opacity[upper] == 0) | (opacity[upper] > 0.97))


def test_the_back_of_the_head_takes_the_hair_colour(open_head_avatar):
    """The photo does not see the back of the head: above the face's middle it takes the colour of the head's
    top the photo shows (the hair), not one blend of everything seen (hair, skin and backdrop edge)."""
    from lam_core.reconstruct.colour import hop_distance

    rec = open_head_avatar
    pts = rec.avatar.points
    y = pts.vertices[:, 1]
    face_y = y[pts.in_region("face")]
    top = pts.in_region("cranium") & (y > face_y.max()) & rec.seen
    hair = np.median(rec.avatar.gaussians.colors[top], axis=0)
    back = pts.in_region("cranium") & (y > face_y.mean()) & (hop_distance(rec.seen, pts.faces, 8) > 8)
    assert back.sum() > 500   # (719: the hair is seen to within 3 px of the outline)
    behind = orbit_about_head(rec.camera, rec.avatar.points.vertices[pts.in_region("cranium")].mean(0), 180, 0)
    posed = rec.avatar.animate(rec.photo_params)
    img = render_posed(posed, behind, backend="cpu").rgb.numpy()
    uv = behind.project(posed.means[0].numpy()[back])
    seen_px = img[uv[:, 1].astype(int).clip(0, img.shape[0] - 1), uv[:, 0].astype(int).clip(0, img.shape[1] - 1)]
    assert np.abs(np.median(seen_px, axis=0) - hair).max() < 0.03, (np.median(seen_px, axis=0), hair)


def test_a_tight_portraits_head_shows_nothing_below_the_bust(astronaut):
    """A photo cut off close under the chin gives a body shorter than the head model's own neck: the neck
    hung below the bust's lower end, a stub seen from behind and from below. Nothing of the head shows below
    the body's lowest point."""
    img, face, _ = astronaut
    crop = np.ascontiguousarray(img[: int(face.points[152, 1] + 0.3 * face.height_px)])
    f = detect_face(crop, "tight portrait")
    rec = reconstruct(crop, f, foreground_mask(crop, f))
    pts, g = rec.avatar.points, rec.avatar.gaussians
    body = pts.in_region("bust")
    below = ~body & (pts.vertices[:, 1] < pts.vertices[body, 1].min())
    assert below.sum() > 10                           # the head model's neck reaches below this short bust ...
    assert (g.opacities[below] == 0).all()            # ... and none of it shows
    assert (g.opacities[~body & ~below] > 0.5).mean() > 0.99


def test_the_body_back_carries_no_stripes_from_one_rows_sides_but_keeps_a_step():
    """The sides' colour is a running medoid over 9 cm of height: a stripe 1-2 cm high on the sides (a fold, a
    strap, the rings' own sampling) does not go round the back, a change of clothing (a collar) does, sharp."""
    from lam_core.reconstruct.bust import carry_colours

    h = np.arange(60) * 0.0101                          # 60 rows, ~1 cm apart (one per height bin)
    across = np.array([-1.0, 1.0, 0.0])                 # each row: its two sides seen, its back not
    heights, xs = np.repeat(h, 3), np.tile(across, len(h))
    seen = np.tile([True, True, False], len(h))
    side = np.where(h[:, None] < 0.30, [0.1, 0.1, 0.1], [0.9, 0.4, 0.1])   # a dark collar: the top 30 cm
    side[::7] = (0.9, 0.9, 0.9)                                             # and a light stripe every 7 cm
    colours = np.zeros((len(heights), 3))
    colours[seen] = np.repeat(side, 2, axis=0)
    back = carry_colours(heights, colours, seen, across=xs)[~seen]
    want = np.where(h[:, None] < 0.30, [0.1, 0.1, 0.1], [0.9, 0.4, 0.1])
    near_step = np.abs(h - 0.30) < 0.015                # the step may move by a row (4 dark, 4 orange there)
    np.testing.assert_allclose(back[~near_step], want[~near_step], atol=1e-9)   # no stripe, the collar kept
    # nowhere a stripe or a mix of channels: each row's back is the collar's colour or the suit's
    assert all(np.allclose(c, [0.1, 0.1, 0.1]) or np.allclose(c, [0.9, 0.4, 0.1]) for c in back)


def test_the_body_back_takes_the_colour_of_its_sides_not_of_what_is_held_in_front():
    """At each height the body's unseen back takes the colour of the seen body's outer sides, blended across:
    a black helmet held in the middle of the front (most of the row) does not go round the back."""
    from lam_core.reconstruct.bust import carry_colours

    n = 400
    across = np.tile(np.linspace(-1, 1, n // 2), 2)
    heights = np.repeat([0.0, 0.005], n // 2)          # one height bin
    seen = np.zeros(n, bool)
    seen[: n // 2] = True                               # the front row seen, the back row not
    colours = np.zeros((n, 3))
    colours[:n // 2] = np.where(np.abs(across[:n // 2, None]) > 0.7, [0.9, 0.4, 0.1], [0.0, 0.0, 0.0])
    colours[:n // 2][across[:n // 2] > 0.7] = (0.2, 0.3, 0.9)   # the right side is blue
    out = carry_colours(heights, colours, seen, across=across)
    back = ~seen
    np.testing.assert_allclose(out[back & (across < -0.99)], [[0.9, 0.4, 0.1]] * 1, atol=1e-9)
    np.testing.assert_allclose(out[back & (across > 0.99)], [[0.2, 0.3, 0.9]] * 1, atol=1e-9)
    middle = out[back & (np.abs(across) < 0.01)]
    np.testing.assert_allclose(middle, [[0.55, 0.35, 0.5]] * len(middle), atol=0.01)
    assert (out[back].max(1) > 0.3).all()              # nowhere the helmet's black
    np.testing.assert_array_equal(out[seen], colours[seen])
