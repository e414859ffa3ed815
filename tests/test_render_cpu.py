"""The CPU backend against an independent per-pixel oracle (tests/render_oracle.py), and gsplat's rules one by
one: image borders, the near plane, flat and transparent Gaussians, the transmittance stop, depth order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lam_core.camera import Camera
from lam_core.render import RenderError, RenderOutput, render_gaussians, render_posed
from lam_core.render.projection import opacity_extent
from lam_core.gaussians import PosedGaussians

from .render_oracle import oracle_render

TOL = 1e-4
IDENTITY = np.eye(4)


def cam(width=32, height=32, f=32.0, cx=None, cy=None, view=IDENTITY):
    return Camera(width, height, f, f, width / 2 if cx is None else cx, height / 2 if cy is None else cy, view)


def random_quats(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def random_scene(seed, n, camera):
    """n Gaussians spread over (and a little beyond) the camera's image, at depths 1..4."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(1.0, 4.0, n)
    u = rng.uniform(-0.3 * camera.width, 1.3 * camera.width, n)
    v = rng.uniform(-0.3 * camera.height, 1.3 * camera.height, n)
    cam_pts = np.stack([(u - camera.cx) * z / camera.fx, (v - camera.cy) * z / camera.fy, z], 1)
    c2w = camera.camera_to_world
    means = cam_pts @ c2w[:3, :3].T + c2w[:3, 3]
    scales = np.exp(rng.uniform(np.log(0.01), np.log(0.4), (n, 3)))
    flat = rng.uniform(size=n) < 0.3
    scales[flat, 2] *= 1e-3
    opacities = rng.uniform(0.0, 1.0, n)
    opacities[rng.uniform(size=n) < 0.2] = 0.9995
    return dict(means=means, quats=random_quats(rng, n), scales=scales, colors=rng.uniform(size=(n, 3)),
                opacities=opacities)


def render_np(scene, camera, background=(1.0, 1.0, 1.0)) -> RenderOutput:
    f32 = {k: torch.tensor(v, dtype=torch.float32) for k, v in scene.items()}
    return render_gaussians(**f32, camera=camera, background=background, backend="cpu")


def assert_matches_oracle(scene, camera, background=(1.0, 1.0, 1.0), **switches):
    out = render_np(scene, camera, background)
    rgb, alpha, depth = oracle_render(**scene, camera=camera, background=background, **switches)
    np.testing.assert_allclose(out.rgb.numpy(), rgb, atol=TOL, rtol=0)
    np.testing.assert_allclose(out.alpha.numpy(), alpha, atol=TOL, rtol=0)
    # expected depth is a ratio; compare where something was drawn
    drawn = alpha > 1e-3
    np.testing.assert_allclose(out.depth.numpy()[drawn], depth[drawn], rtol=TOL, atol=TOL)
    return out


def one(mean, scale=(0.1, 0.1, 0.1), opacity=0.8, color=(1.0, 0.0, 0.0), quat=(1.0, 0.0, 0.0, 0.0)):
    return dict(means=np.array([mean], float), quats=np.array([quat], float), scales=np.array([scale], float),
                colors=np.array([color], float), opacities=np.array([opacity], float))


def merge(*scenes):
    return {k: np.concatenate([s[k] for s in scenes]) for k in scenes[0]}


# ------------------------------------------------------------------------------------------ against the oracle

@pytest.mark.parametrize("seed,n", [(0, 1), (1, 5), (2, 20), (3, 50), (4, 50)])
def test_random_scenes_match_oracle(seed, n):
    out = assert_matches_oracle(random_scene(seed, n, cam()), cam())
    assert out.rgb.shape == (32, 32, 3) and out.alpha.shape == (32, 32) and out.depth.shape == (32, 32)
    assert out.rgb.dtype == torch.float32


def test_oriented_camera_odd_size_and_offset_principal_point():
    view = Camera.orbit((0.1, -0.2, 0.3), 3.0, yaw_deg=35, pitch_deg=-20, width=37, height=23).world_to_camera
    camera = cam(37, 23, f=28.0, cx=15.3, cy=13.9, view=view)
    assert_matches_oracle(random_scene(5, 40, camera), camera, background=(0.2, 0.5, 0.9))


def test_dense_opaque_stack_matches_oracle():
    """Many overlapping opaque Gaussians: transmittance runs out mid-list on most pixels."""
    rng = np.random.default_rng(7)
    scene = random_scene(7, 50, cam())
    scene["opacities"] = rng.uniform(0.6, 1.0, 50)
    scene["scales"] = scene["scales"] * 3
    assert_matches_oracle(scene, cam())


# ---------------------------------------------------------------------------------------------------- rules

def test_single_gaussian_centre_pixel_value():
    # centred on pixel (16, 16) exactly, so sigma = 0 there: alpha = opacity
    scene = one(at_pixel(16, 16, 2.0), opacity=0.6, color=(0.2, 0.4, 0.8))
    out = render_np(scene, cam(), background=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(out.rgb[16, 16].numpy(), [0.12, 0.24, 0.48], atol=1e-6)
    assert out.alpha[16, 16].item() == pytest.approx(0.6, abs=1e-6)
    assert out.depth[16, 16].item() == pytest.approx(2.0, abs=1e-5)
    assert out.alpha[0, 0].item() == 0.0 and out.depth[0, 0].item() == 0.0


def test_background_is_added_with_the_final_transmittance():
    scene = random_scene(11, 30, cam())
    white = render_np(scene, cam(), (1.0, 1.0, 1.0))
    black = render_np(scene, cam(), (0.0, 0.0, 0.0))
    t = 1.0 - white.alpha
    np.testing.assert_allclose((white.rgb - black.rgb).numpy(), t[..., None].expand(-1, -1, 3).numpy(), atol=1e-6)


def test_behind_camera_and_near_plane_culled():
    bg = (0.3, 0.3, 0.3)
    for z in (-1.0, -0.02, 0.0, 0.009):
        out = render_np(one((0.0, 0.0, z), scale=(0.01, 0.01, 0.01), opacity=1.0), cam(), bg)
        assert torch.equal(out.rgb, torch.full((32, 32, 3), 0.3)), z
        assert torch.equal(out.alpha, torch.zeros(32, 32)), z
    # just beyond the near plane it is drawn (huge on screen)
    out = render_np(one((0.0, 0.0, 0.011), scale=(1e-4, 1e-4, 1e-4), opacity=1.0), cam(), bg)
    assert out.alpha.max().item() > 0.5
    # a Gaussian straddling the near plane is drawn or not by its centre only
    assert_matches_oracle(one((0.0, 0.0, 0.011), scale=(1e-4, 1e-4, 1e-4), opacity=1.0), cam(), bg)


def test_far_outside_the_image_is_culled_and_partial_overlap_is_drawn():
    f = 32.0
    # centre 3 px left of the image, radius ~ 3.33 * sqrt((0.1 * 32 / 2)^2 + 0.3) ~ 5.5 px -> partly visible
    z = 2.0
    visible = one(((-3.0 - 16) * z / f, 0.0, z), scale=(0.1, 0.1, 0.1), opacity=0.9)
    out = assert_matches_oracle(visible, cam())
    assert out.alpha[:, 0].max().item() > 0.01
    # 10 px outside: the radius box misses the image; nothing at all is drawn
    gone = one(((-10.0 - 16) * z / f, 0.0, z), scale=(0.1, 0.1, 0.1), opacity=0.9)
    assert torch.equal(render_np(gone, cam()).alpha, torch.zeros(32, 32))


def test_jacobian_clamp_at_1p3_field_of_view():
    """A large Gaussian far off to the side: gsplat clamps x/z for its Jacobian (not for its centre)."""
    z = 1.0
    scene = one((-1.5, 0.2, z), scale=(0.6, 0.4, 0.5), opacity=0.9, quat=(0.9, 0.3, 0.2, 0.1))
    out = assert_matches_oracle(scene, cam())
    unclamped, _, _ = oracle_render(**scene, camera=cam(), clamp_jacobian=False)
    assert np.abs(out.rgb.numpy() - unclamped).max() > 10 * TOL


def at_pixel(col, row, z, f=32.0, c=16.0):
    """The world point (identity camera) that projects onto the centre of pixel (col, row) at depth z."""
    return ((col + 0.5 - c) * z / f, (row + 0.5 - c) * z / f, z)


def test_flat_and_zero_scale_gaussians():
    z = 2.0
    face_on = one(at_pixel(6, 8, z), scale=(0.15, 0.1, 0.0), opacity=0.9)             # a disc facing the camera
    edge_on = one((0.0, at_pixel(0, 22, z)[1], z), scale=(0.0, 0.2, 0.2), opacity=0.9)  # a disc seen edge on
    tilted = one(at_pixel(8, 24, z), scale=(0.2, 0.0, 0.1), opacity=0.9, quat=(np.cos(0.6), 0.0, np.sin(0.6), 0.0))
    out = assert_matches_oracle(merge(face_on, edge_on, tilted), cam())
    # edge on, its projection has zero width: only the 0.3 px^2 blur keeps it, so it is about one pixel wide
    row = out.alpha[22].numpy()   # the disc's plane x = 0 runs between columns 15 and 16
    assert row[15] > 0.5 and row[16] > 0.5 and row[13] == 0 and row[18] == 0
    # all scales zero: a 0.3 px^2 point; at its own pixel centre sigma = 0, so alpha = opacity
    point = one(at_pixel(16, 16, z), scale=(0.0, 0.0, 0.0), opacity=0.95)
    out = assert_matches_oracle(point, cam())
    assert out.alpha[16, 16].item() == pytest.approx(0.95, abs=1e-6)
    assert out.alpha[16, 17].item() == pytest.approx(0.95 * np.exp(-0.5 / 0.3), abs=1e-6)


def test_transparent_gaussians_are_skipped():
    for o in (0.0, 0.5 / 255, 0.999 / 255):
        out = render_np(one((0.0, 0.0, 2.0), opacity=o), cam())
        assert torch.equal(out.alpha, torch.zeros(32, 32)), o
        assert torch.equal(out.rgb, torch.ones(32, 32, 3)), o
    # just above the threshold only the pixels where opacity * exp(-sigma) >= 1/255 are touched
    scene = one(at_pixel(16, 16, 2.0), opacity=1.2 / 255, scale=(0.2, 0.2, 0.2))
    out = assert_matches_oracle(scene, cam())
    assert 0 < (out.alpha > 0).sum().item() < 32 * 32


def test_opacity_aware_radius():
    e = opacity_extent(torch.tensor([1.0, 0.1, 100.0])).tolist()
    assert e[0] == pytest.approx(np.sqrt(2 * np.log(255)), rel=1e-6)
    assert e[1] == pytest.approx(np.sqrt(2 * np.log(25.5)), rel=1e-6)
    assert e[0] < 3.33 and e[2] == pytest.approx(3.33)


def test_transmittance_stop_excludes_the_gaussian_that_would_cross_1e4():
    """Three opaque Gaussians on one pixel: after the first T = 0.001; the second would bring it to 1e-6, so
    the pixel stops there and neither the second nor the third is composited."""
    front = one(at_pixel(16, 16, 1.0), opacity=1.0, color=(1.0, 0.0, 0.0), scale=(0.05, 0.05, 0.05))
    mid = one(at_pixel(16, 16, 2.0), opacity=1.0, color=(0.0, 1.0, 0.0), scale=(0.1, 0.1, 0.1))
    back = one(at_pixel(16, 16, 3.0), opacity=1.0, color=(0.0, 0.0, 1.0), scale=(0.15, 0.15, 0.15))
    scene = merge(back, mid, front)   # input order is not depth order
    out = assert_matches_oracle(scene, cam(), background=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(out.rgb[16, 16].numpy(), [0.999, 0.0, 0.0], atol=1e-6)
    assert out.alpha[16, 16].item() == pytest.approx(0.999, abs=1e-6)
    no_stop, _, _ = oracle_render(**scene, camera=cam(), background=(0.0, 0.0, 0.0), stop_at_1e4=False)
    assert no_stop[16, 16, 1] > 5e-4   # without the rule the green one would show


def test_depth_order_and_ties():
    near = one(at_pixel(16, 16, 1.0), opacity=0.9, color=(1.0, 0.0, 0.0), scale=(0.05, 0.05, 0.05))
    far = one(at_pixel(16, 16, 2.0), opacity=0.9, color=(0.0, 1.0, 0.0), scale=(0.1, 0.1, 0.1))
    for scene in (merge(near, far), merge(far, near)):
        px = render_np(scene, cam(), (0.0, 0.0, 0.0)).rgb[16, 16].numpy()
        assert px[0] > 0.85 and px[1] < 0.1
    # equal depths: the first in input order is in front
    a = one(at_pixel(16, 16, 2.0), opacity=0.9, color=(1.0, 0.0, 0.0))
    b = one(at_pixel(16, 16, 2.0), opacity=0.9, color=(0.0, 0.0, 1.0))
    assert render_np(merge(a, b), cam()).rgb[16, 16, 0] > 0.8
    assert render_np(merge(b, a), cam()).rgb[16, 16, 2] > 0.8


def test_quaternions_are_normalised_and_sign_free():
    scene = random_scene(12, 20, cam())
    ref = render_np(scene, cam()).rgb
    scaled = dict(scene, quats=-3.0 * scene["quats"])
    torch.testing.assert_close(render_np(scaled, cam()).rgb, ref, atol=1e-5, rtol=0)


def test_larger_image_matches_oracle_across_many_tiles():
    camera = cam(70, 50, f=60.0)
    assert_matches_oracle(random_scene(13, 30, camera), camera)


# --------------------------------------------------------------------------------------------- the interface

def test_numpy_inputs_render_posed_and_shape_errors():
    scene = random_scene(14, 10, cam())
    ref = render_np(scene, cam())
    out = render_gaussians(**scene, camera=cam(), backend="cpu")   # float64 numpy in
    torch.testing.assert_close(out.rgb, ref.rgb)
    f32 = {k: torch.tensor(v, dtype=torch.float32) for k, v in scene.items()}
    posed = PosedGaussians(means=torch.stack([f32["means"] + 5.0, f32["means"]]),
                           quats=torch.stack([f32["quats"]] * 2), scales=f32["scales"], colors=f32["colors"],
                           opacities=f32["opacities"])
    torch.testing.assert_close(render_posed(posed, cam(), frame=1, backend="cpu").rgb, ref.rgb)
    with pytest.raises(RenderError, match="frame 2"):
        render_posed(posed, cam(), frame=2, backend="cpu")
    with pytest.raises(RenderError, match="quats has shape"):
        render_gaussians(scene["means"], scene["quats"][:, :3], scene["scales"], scene["colors"],
                         scene["opacities"], cam(), backend="cpu")
    with pytest.raises(RenderError, match="background"):
        render_gaussians(**scene, camera=cam(), background=(1.0, 1.0), backend="cpu")
    with pytest.raises(RenderError, match="unknown render backend"):
        render_gaussians(**scene, camera=cam(), backend="vulkan")


def test_empty_scene_and_rgb_uint8():
    empty = {k: np.zeros((0,) + v.shape[1:]) for k, v in random_scene(0, 1, cam()).items()}
    out = render_gaussians(**empty, camera=cam(), background=(0.0, 0.5, 1.0), backend="cpu")
    assert torch.equal(out.alpha, torch.zeros(32, 32))
    assert out.rgb_uint8()[0, 0].tolist() == [0, 128, 255]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where CUDA is absent")
def test_gsplat_backend_without_cuda_is_a_clear_error():
    with pytest.raises(RenderError, match="CUDA"):
        render_gaussians(**random_scene(0, 1, cam()), camera=cam(), backend="gsplat")


def test_result_does_not_depend_on_the_block_size(monkeypatch):
    """Transmittance and the stop carry over from one block of Gaussians to the next."""
    import lam_core.render.cpu as cpu

    rng = np.random.default_rng(7)
    scene = random_scene(8, 50, cam())
    scene["opacities"] = rng.uniform(0.6, 1.0, 50)
    scene["scales"] = scene["scales"] * 3
    ref = render_np(scene, cam())
    for block in (1, 3, 7):
        monkeypatch.setattr(cpu, "BLOCK", block)
        monkeypatch.setattr(cpu, "MAX_BLOCK", block)
        out = assert_matches_oracle(scene, cam())
        torch.testing.assert_close(out.rgb, ref.rgb, atol=2e-6, rtol=0)
        torch.testing.assert_close(out.alpha, ref.alpha, atol=2e-6, rtol=0)


def test_gsplat_backend_call_without_a_gpu(monkeypatch):
    """The gsplat call's plumbing (runs everywhere; gsplat's kernels themselves need CUDA): classic mode, RGB and
    expected depth, unpacked, our near/far/eps2d/tile size, the background with a zero depth channel, and the
    signature of the installed gsplat."""
    import inspect

    gsplat = pytest.importorskip("gsplat")
    from lam_core.render.gsplat_backend import rasterize_gsplat

    signature = inspect.signature(gsplat.rasterization)
    names = signature.parameters
    seen = {}

    def fake(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        seen.update(bound.arguments)
        w, h = bound.arguments["width"], bound.arguments["height"]
        colors = torch.arange(h * w * 4, dtype=torch.float32).reshape(1, h, w, 4)
        return colors, torch.full((1, h, w, 1), 0.5), {}

    monkeypatch.setattr(gsplat, "rasterization", fake)
    scene = {k: torch.tensor(v, dtype=torch.float32) for k, v in random_scene(0, 4, cam(8, 6)).items()}
    viewmat, K = torch.eye(4), torch.tensor(cam(8, 6).K(), dtype=torch.float32)
    rgb, alpha, depth = rasterize_gsplat(scene["means"], scene["quats"], scene["scales"], scene["colors"],
                                         scene["opacities"], viewmat, K, 8, 6, torch.tensor([0.1, 0.2, 0.3]),
                                         0.01, 1e10)
    assert {"rasterize_mode", "render_mode", "packed", "eps2d", "tile_size", "backgrounds"} <= set(names)
    assert seen["rasterize_mode"] == "classic" and seen["render_mode"] == "RGB+ED" and seen["packed"] is False
    assert seen["eps2d"] == 0.3 and seen["tile_size"] == 16
    assert seen["near_plane"] == 0.01 and seen["far_plane"] == 1e10
    assert seen["viewmats"].shape == (1, 4, 4) and seen["Ks"].shape == (1, 3, 3)
    assert seen["backgrounds"].tolist() == [pytest.approx([0.1, 0.2, 0.3])]
    assert seen["colors"].shape == (4, 3) and seen["quats"].shape == (4, 4)
    assert rgb.shape == (6, 8, 3) and alpha.shape == (6, 8) and depth.shape == (6, 8)
    assert depth[0, 0].item() == 3.0 and rgb[0, 1].tolist() == [4.0, 5.0, 6.0]


# ------------------------------------------------------------------------------------------ the render as a matrix

@pytest.mark.parametrize("seed,n", [(5, 30), (6, 80)])
def test_composite_weights_are_the_render_as_a_matrix(seed, n):
    """The render is linear in the colours: image = W colours + (1 - W 1) background. composite_weights gives
    W's non-zero entries (what lam_core.reconstruct.analytic.refine_colours iterates on, with W^T as the
    render's adjoint): W reproduces the rasteriser's image and alpha for any colours, and a Gaussian alone in
    front has weights summing to its opacity times its 2D footprint."""
    import scipy.sparse as sparse

    from lam_core.render.cpu import composite_weights, rasterize
    from lam_core.render.projection import intrinsics_tensors, project_gaussians

    camera = cam(48, 40)
    scene = random_scene(seed, n, camera)
    f32 = {k: torch.tensor(v, dtype=torch.float32) for k, v in scene.items()}
    viewmat, K = intrinsics_tensors(camera)
    proj = project_gaussians(f32["means"], f32["quats"], f32["scales"], f32["opacities"], viewmat, K, 48, 40)
    pixel, which, w = composite_weights(proj, f32["opacities"], 48, 40)
    assert len(w) > n and (w > 0).all() and (w <= 1).all()
    assert int(pixel.min()) >= 0 and int(pixel.max()) < 48 * 40 and proj.visible[which].all()
    W = sparse.csr_matrix((w.double().numpy(), (pixel.numpy(), which.numpy())), shape=(48 * 40, n))
    rng = np.random.default_rng(seed)
    colours = rng.uniform(size=(n, 3))
    background = np.array([0.2, 0.5, 0.9])
    img, alpha = rasterize(proj, f32["opacities"], torch.tensor(colours, dtype=torch.float32),
                           torch.tensor(background, dtype=torch.float32), 48, 40)
    a = np.asarray(W.sum(1)).ravel()
    np.testing.assert_allclose(a.reshape(40, 48), alpha.numpy(), atol=1e-5)
    np.testing.assert_allclose((W @ colours + (1 - a)[:, None] * background).reshape(40, 48, 3), img.numpy(),
                               atol=1e-5)
    # one wide, faint Gaussian in the middle of a big image: its weights sum to opacity x 2 pi sqrt(det cov2d)
    big = cam(128, 128, f=64.0)
    g = {k: torch.tensor(v, dtype=torch.float32) for k, v in one((0.0, 0.0, 2.0), scale=(0.2, 0.1, 0.1),
                                                                  opacity=0.3).items()}
    viewmat, K = intrinsics_tensors(big)
    p1 = project_gaussians(g["means"], g["quats"], g["scales"], g["opacities"], viewmat, K, 128, 128)
    _, _, w1 = composite_weights(p1, g["opacities"], 128, 128)
    a, b, c = (float(p1.conics[0, k]) for k in range(3))
    assert float(w1.sum()) == pytest.approx(0.3 * 2 * np.pi / np.sqrt(a * c - b * b), rel=0.02)
    # nothing drawn: no weights
    assert len(composite_weights(project_gaussians(f32["means"][:0], f32["quats"][:0], f32["scales"][:0],
                                                   f32["opacities"][:0], viewmat, K, 128, 128),
                                 f32["opacities"][:0], 128, 128)[2]) == 0
