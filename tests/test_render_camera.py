"""Cameras (OpenCV convention, pixel centres at +0.5, vertical field of view) and the image metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lam_core.camera import Camera, avatar_camera
from lam_core.metrics import psnr, ssim


def test_intrinsics_and_projection():
    c = Camera.look_at((0, 0, 2), (0, 0, 0), fov_deg=90.0, width=64, height=32)
    assert c.fy == pytest.approx(16.0) and c.fx == pytest.approx(16.0)   # vertical fov, square pixels
    assert (c.cx, c.cy) == (32.0, 16.0)
    np.testing.assert_allclose(c.K(), [[16, 0, 32], [0, 16, 16], [0, 0, 1]], atol=1e-12)
    # the target lands on the principal point, i.e. the corner shared by the four central pixels
    np.testing.assert_allclose(c.project([0, 0, 0]), [32.0, 16.0, 2.0], atol=1e-12)
    # world +x (the subject's left) appears on the right, world +y (up) towards row 0
    u, v, _ = c.project([0.5, 0.5, 0.0])
    assert u > 32 and v < 16
    np.testing.assert_allclose(c.position, [0, 0, 2], atol=1e-12)


def test_world_to_camera_is_rigid_opencv():
    c = Camera.orbit((0.1, 0.2, 0.3), 1.5, yaw_deg=40, pitch_deg=25)
    r = c.world_to_camera[:3, :3]
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    # the camera's +z axis (third row) points from the eye to the target
    d = np.array([0.1, 0.2, 0.3]) - c.position
    np.testing.assert_allclose(r[2], d / np.linalg.norm(d), atol=1e-12)
    # its down axis has a negative world-y component (image upright)
    assert r[1, 1] < 0
    with pytest.raises(ValueError):
        c.world_to_camera[0, 0] = 2.0   # read-only


def test_orbit_angles():
    front = Camera.orbit((0, 0, 0), 2.0)
    np.testing.assert_allclose(front.position, [0, 0, 2], atol=1e-12)
    left = Camera.orbit((0, 0, 0), 2.0, yaw_deg=90)
    np.testing.assert_allclose(left.position, [2, 0, 0], atol=1e-12)
    above = Camera.orbit((0, 0, 0), 2.0, pitch_deg=30)
    np.testing.assert_allclose(above.position, [0, 1.0, math.sqrt(3)], atol=1e-12)
    with pytest.raises(ValueError, match="pitch"):
        Camera.orbit((0, 0, 0), 2.0, pitch_deg=90)


@pytest.mark.parametrize("kwargs", [dict(width=0), dict(width=2.5), dict(fx=0.0), dict(cy=float("nan")),
                                    dict(world_to_camera=np.zeros((4, 4))), dict(world_to_camera=np.eye(3))])
def test_invalid_cameras(kwargs):
    base = dict(width=8, height=8, fx=8.0, fy=8.0, cx=4.0, cy=4.0, world_to_camera=np.eye(4))
    with pytest.raises(ValueError):
        Camera(**{**base, **kwargs})


def test_look_at_degenerate():
    with pytest.raises(ValueError, match="parallel"):
        Camera.look_at((0, 2, 0), (0, 0, 0))
    with pytest.raises(ValueError, match="distinct"):
        Camera.look_at((0, 0, 0), (0, 0, 0))


def test_avatar_camera_frames_the_points_from_every_side():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(500, 3)) * [0.08, 0.11, 0.09] + [0.01, -0.02, 0.03]
    for yaw in (0, 90, 180, 270):
        c = avatar_camera(torch.tensor(pts), yaw_deg=yaw, pitch_deg=10, size=128)
        uv = c.project(pts)
        assert (uv[:, 2] > 0).all()
        assert uv[:, :2].min() >= 0 and uv[:, :2].max() <= 128
        assert uv[:, :2].max() - uv[:, :2].min() > 0.5 * 128   # and fills a good part of the frame
    wide = avatar_camera(pts, size=64, height=128)
    assert wide.width == 64 and wide.height == 128
    uv = wide.project(pts)
    assert uv[:, 0].min() >= 0 and uv[:, 0].max() <= 64


def test_psnr_and_ssim():
    rng = np.random.default_rng(1)
    a = rng.uniform(size=(32, 32, 3))
    assert psnr(a, a) == math.inf
    b = a + 0.01
    assert psnr(a, b) == pytest.approx(40.0)
    mask = np.zeros((32, 32), bool)
    mask[:8] = True
    c = a.copy()
    c[8:] = 0.0
    assert psnr(a, c, mask=mask) == math.inf
    assert psnr(torch.tensor(a), torch.tensor(b)) == pytest.approx(40.0)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, c, mask=mask) > ssim(a, c)
    assert ssim(a, rng.uniform(size=(32, 32, 3))) < 0.2
    with pytest.raises(ValueError):
        psnr(a, a[:, :, :2])
    with pytest.raises(ValueError):
        psnr(a, a, mask=np.zeros((32, 32), bool))
