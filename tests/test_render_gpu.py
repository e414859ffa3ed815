"""The CPU backend against gsplat itself (CUDA only; skipped elsewhere with the reason)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lam_core import FrameParams
from lam_core.camera import avatar_camera
from lam_core.metrics import psnr
from lam_core.render import render_gaussians
from lam_core.render.gsplat_backend import gsplat_available

from .test_render_cpu import cam, random_scene

OK, WHY = gsplat_available()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not OK, reason=f"gsplat cannot run here: {WHY}")]

VIEWS = [(0, 0), (45, 10), (90, -10), (135, 20), (180, 0), (225, -20), (270, 15), (315, 5)]


@pytest.fixture(scope="module")
def posed():
    from lam_core.synthetic import synthetic_avatar

    avatar = synthetic_avatar(1)
    assert avatar.n == 20_018
    return avatar.animate(FrameParams.zeros(1, 100))


@pytest.mark.parametrize("yaw,pitch", VIEWS)
def test_cpu_backend_matches_gsplat_on_the_avatar(posed, yaw, pitch):
    camera = avatar_camera(posed.means, yaw, pitch, 512)
    args = (posed.means[0], posed.quats[0], posed.scales, posed.colors, posed.opacities, camera)
    ref = render_gaussians(*[a.cuda() for a in args[:5]], camera, backend="gsplat")
    ours = render_gaussians(*args, backend="cpu")
    assert ref.rgb.is_cuda
    rgb_ref, alpha_ref = ref.rgb.cpu(), ref.alpha.cpu()
    assert alpha_ref.mean() > 0.1   # the head is in the picture
    value = psnr(ours.rgb, rgb_ref)
    assert value >= 45.0, f"yaw {yaw}, pitch {pitch}: {value:.2f} dB"
    assert psnr(ours.alpha, alpha_ref) >= 45.0
    drawn = alpha_ref > 0.5
    torch.testing.assert_close(ours.depth[drawn], ref.depth.cpu()[drawn], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("seed", range(4))
def test_cpu_backend_matches_gsplat_on_tiny_scenes(seed):
    scene = {k: torch.tensor(v, dtype=torch.float32) for k, v in random_scene(seed, 50, cam()).items()}
    ours = render_gaussians(**scene, camera=cam(), backend="cpu")
    ref = render_gaussians(**{k: v.cuda() for k, v in scene.items()}, camera=cam(), backend="gsplat")
    # gsplat uses fast-math exp/log on the GPU: allow a little more than the oracle's 1e-4
    np.testing.assert_allclose(ours.rgb.numpy(), ref.rgb.cpu().numpy(), atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours.alpha.numpy(), ref.alpha.cpu().numpy(), atol=1e-3, rtol=0)
