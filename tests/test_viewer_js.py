"""The viewer's JavaScript against the Python implementation: deformation (blendshapes, pose correctives,
LBS, Gaussian rotations) to 1e-5, depth order, the camera; and the Node unit tests (tests/js/*.test.mjs)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from exporter.lamfile import read_lam, write_lam
from exporter.verify import page_params
from lam_core.camera import avatar_camera
from lam_core.exercise import exercise_sequence
from lam_core.synthetic import synthetic_avatar

from .conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def test_node_unit_tests():
    r = subprocess.run(["node", "--test", "tests/js/"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "# fail 0" in r.stdout


@pytest.fixture(scope="module")
def synthetic_lam(tmp_path_factory):
    path = tmp_path_factory.mktemp("viewer_js") / "synthetic.lam"
    write_lam(path, synthetic_avatar(1))
    return path


def run_js(lam_path, params, view, camera, tmp_path):
    n_frames = params.batch
    spec = {"frames": [page_params(params, i) for i in range(n_frames)], "view": [float(x) for x in view.reshape(-1)],
            "camera": camera}
    (tmp_path / "params.json").write_text(json.dumps(spec))
    out = tmp_path / "out.bin"
    subprocess.run(["node", "tests/js/run_lam_deform.mjs", str(lam_path), str(tmp_path / "params.json"), str(out)],
                   cwd=ROOT, check=True, timeout=300)
    return np.fromfile(out, np.uint8)


def test_deformation_matches_python(synthetic_lam, tmp_path):
    avatar = read_lam(synthetic_lam).avatar     # the numbers the JS reader decodes too
    n = avatar.n
    params = exercise_sequence(avatar.rig.expr_names, frames=6)
    posed = avatar.animate(params)
    cam = avatar_camera(avatar.canonical_means(), yaw_deg=30, pitch_deg=-10, size=400)
    raw = run_js(synthetic_lam, params, cam.world_to_camera, {"yaw": 30, "pitch": -10, "width": 400, "height": 400},
                 tmp_path)
    per = n * 12 + n * 16 + n * 4
    for i in range(params.batch):
        block = raw[i * per:(i + 1) * per]
        means = block[: n * 12].view(np.float32).reshape(n, 3)
        quats = block[n * 12: n * 28].view(np.float32).reshape(n, 4)
        order = block[n * 28:].view(np.uint32)
        want_m, want_q = posed.means[i].numpy(), posed.quats[i].numpy()
        assert np.abs(means - want_m).max() < 1e-5, f"frame {i}: centres differ"
        dq = np.minimum(np.abs(quats - want_q).max(1), np.abs(quats + want_q).max(1))
        assert dq.max() < 1e-5, f"frame {i}: rotations differ"
        assert sorted(order.tolist()) == list(range(n))
        z = want_m.astype(np.float64) @ cam.world_to_camera[2, :3] + cam.world_to_camera[2, 3]
        assert np.all(np.diff(z[order]) <= 1e-6), f"frame {i}: not back to front by deformed depth"
    # the JS framing camera is lam_core.camera.avatar_camera
    tail = raw[params.batch * per:].view(np.float64)
    np.testing.assert_allclose(tail[:16].reshape(4, 4), cam.world_to_camera, atol=1e-6)
    np.testing.assert_allclose(tail[16:], [cam.fx, cam.fy, cam.cx, cam.cy], rtol=1e-9)
    # the sequence really moves the rig: jaw, eyes, expressions and correctives all act
    assert np.abs(posed.means.numpy() - avatar.canonical_means()).max() > 0.01


def test_rotation_blend_takes_the_roots_hemisphere(synthetic_lam, tmp_path):
    """Joint quaternions are blended in the root's hemisphere (docs/lam-format.md; lam_core.rotations.
    blend_quaternions): with a joint turned far from the root, a Gaussian weighted between them turns the short
    way in the browser as in Python. One frame for each sign convention a matrix -> quaternion may use."""
    import torch

    from lam_core import FrameParams

    avatar = read_lam(synthetic_lam).avatar
    pose = torch.zeros(2, 5, 3)
    pose[0, 1, 1] = np.deg2rad(200)                                 # root still, neck turned 200 degrees
    pose[1, 0, 1], pose[1, 1, 1] = np.deg2rad(170), np.deg2rad(40)  # root 170, neck 40 more
    params = FrameParams(torch.zeros(2, avatar.rig.n_expr), pose, torch.zeros(2, 3))
    posed = avatar.animate(params)
    w = avatar.points.lbs_weights
    mixed = (w[:, 0] > 0.2) & (w[:, 1] > 0.2)
    assert mixed.sum() > 10, "the check needs Gaussians skinned to both the root and the neck"
    cam = avatar_camera(avatar.canonical_means(), size=64)
    raw = run_js(synthetic_lam, params, cam.world_to_camera, {"yaw": 0, "pitch": 0, "width": 64, "height": 64},
                 tmp_path)
    n = avatar.n
    per = n * 12 + n * 16 + n * 4
    for i in range(2):
        quats = raw[i * per + n * 12: i * per + n * 28].view(np.float32).reshape(n, 4)
        want = posed.quats[i].numpy()
        dq = np.minimum(np.abs(quats - want).max(1), np.abs(quats + want).max(1))
        assert dq[mixed].max() < 1e-5, f"frame {i}: blended rotations differ from Python's"
