"""Reading the official LAM web avatar (the sample ../shared/data/lam_official/p2-1.zip, read in place)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lam_core.motion import load_motion
from lam_core.params import FrameParams


@pytest.fixture(scope="module")
def sample_zip(shared_data):
    p = shared_data / "lam_official" / "p2-1.zip"
    if not p.is_file():
        pytest.skip(f"sample official avatar {p} is not present")
    return p


@pytest.fixture(scope="module")
def official(sample_zip):
    from exporter.official_zip import read_official_zip

    return read_official_zip(sample_zip)


def test_counts_and_attributes(official):
    assert official.name == "p2-1"
    assert official.n == 20018 and official.skin.vertices.shape == (20018, 3)
    assert official.skin.faces.shape == (39904, 3)          # 9,976 FLAME faces subdivided once
    assert len(official.expr_names) == 51 and "jawOpen" in official.expr_names and "tongueOut" not in official.expr_names
    assert np.isfinite(official.means).all()
    assert (official.opacities > 0).all() and (official.opacities < 1).all()
    assert (official.colors >= 0).all() and (official.colors <= 1).all()
    assert official.scales.max() <= 0.0101                 # LAM clamps scales at 0.01 m
    assert np.allclose(np.linalg.norm(official.rotations, axis=1), 1, atol=1e-5)
    assert np.abs(official.offsets).max() <= 0.1 + 1e-6    # LAM's offsets are (sigmoid - 0.5) * 0.2
    assert sorted(official.vertex_order.tolist()) == list(range(20018))


def test_rig_mapping(official):
    rig = official.rig()
    assert rig.joint_names == ("global", "neck", "jaw", "eye_l", "eye_r")
    assert np.allclose(rig.lbs_weights.sum(1), 1, atol=1e-5)
    w = rig.lbs_weights.sum(0)
    assert w[1] > 0.9 * len(rig.vertices)                    # the head bone carries the head
    # joints in anatomical order: the neck base below the head joint, the eyes above both, left eye at +x
    assert rig.joints[0, 1] < rig.joints[1, 1] < rig.joints[3, 1]
    assert rig.joints[3, 0] > 0 > rig.joints[4, 0]
    assert (rig.joints[3:, 2] > rig.joints[1, 2]).all()      # eyes in front of the neck


def test_neutral_is_the_rest_pose_and_morphs_move_the_face(official):
    avatar = official.to_avatar()
    k = avatar.rig.n_expr
    rest = avatar.animate(FrameParams.zeros(1, k)).means[0].numpy()
    assert np.abs(rest - official.means).max() < 1e-6
    p = FrameParams.zeros(1, k)
    p.expr[0, avatar.rig.expr_names.index("jawOpen")] = 1.0
    moved = avatar.animate(p).means[0].numpy() - rest
    i = np.argmax(np.linalg.norm(moved, axis=1))
    assert moved[i, 1] < -0.01                               # the chin drops by more than a centimetre
    assert np.linalg.norm(moved, axis=1).max() < 0.1


def test_arkit_sequence_maps_by_name(official, shared_data):
    seq = shared_data / "lam_official" / "arkit_speech_973f.json"
    if not seq.is_file():
        pytest.skip(f"{seq} is not present")
    motion = load_motion(seq)
    avatar = official.to_avatar()
    params, unmapped = motion.params_for(avatar.rig.expr_names, avatar.rig.joint_names)
    assert unmapped in ([], ["tongueOut"])                   # the skin has 51 of ARKit's 52 channels
    posed = avatar.animate(params[200:203])
    assert torch.isfinite(posed.means).all()
    assert (posed.means[0] - posed.means[2]).norm(dim=-1).max() > 1e-4  # the face moves with the speech


def _arkit_frames(avatar, shared_data, frames: int):
    seq = shared_data / "lam_official" / "arkit_speech_973f.json"
    if not seq.is_file():
        pytest.skip(f"{seq} is not present")
    motion = load_motion(seq)
    params, _ = motion.params_for(avatar.rig.expr_names, avatar.rig.joint_names)
    idx = np.linspace(0, motion.n_frames - 1, frames).round().astype(int)
    return FrameParams(params.expr[idx], params.pose[idx], params.translation[idx])


def test_converted_lam_is_small_and_faithful(official, shared_data, sample_zip, tmp_path):
    """Acceptance: lam-convert p2-1.zip -> at most 1.0 MB, >= 40 dB against the unquantised conversion
    (benchmarks/bench_official_zip.py prints the figure over 30 frames at 512 px)."""
    from exporter.cli import run
    from exporter.cli.convert import main
    from exporter.lamfile import read_lam
    from exporter.lamfile.fidelity import posed_errors, render_psnr

    out = tmp_path / "p2-1.lam"
    assert run(main, [str(sample_zip), "-o", str(out), "--quiet"]) == 0
    assert out.stat().st_size <= 1_000_000
    ref = official.to_avatar()
    decoded = read_lam(out).avatar
    params = _arkit_frames(ref, shared_data, 30)
    err = posed_errors(ref, decoded, params)
    assert err["centre_max_m"].max() < 5e-4 and err["color_max"] < 0.01
    assert render_psnr(ref, decoded, params[14:17], size=256, backend="cpu").min() >= 40


def test_zip_lam_zip_round_trip(official, shared_data, sample_zip, tmp_path):
    from exporter.cli import run
    from exporter.cli.convert import main
    from exporter.lamfile import read_lam
    from exporter.lamfile.fidelity import render_psnr
    from exporter.official_zip import read_official_zip

    lam, back, lam2 = tmp_path / "a.lam", tmp_path / "back.zip", tmp_path / "b.lam"
    for src, dst in ((sample_zip, lam), (lam, back), (back, lam2)):
        assert run(main, [str(src), "-o", str(dst), "--quiet"]) == 0
    again = read_official_zip(back)
    assert again.n == official.n and again.expr_names == official.expr_names
    assert np.abs(again.means - official.means).max() < 1e-3     # only the .lam's quantisation in between
    first, second = read_lam(lam).avatar, read_lam(lam2).avatar
    params = _arkit_frames(first, shared_data, 30)[20:22]
    assert render_psnr(first, second, params, size=256, backend="cpu").min() >= 40


def test_animation_clips_become_motions(official):
    """animation.glb's body clips -> global and neck rotations (a few degrees of idle and speaking sway)."""
    assert len(official.motions) == 12 and "yumi_h5_a3_idle" in official.motions
    for name, m in official.motions.items():
        assert m.n_frames >= 2 and m.fps == 30.0, name
        assert np.isfinite(m.pose).all() and np.isfinite(m.translation).all()
        assert np.degrees(np.abs(m.pose[:, :2])).max() < 30, name      # sway, not spins
        assert np.abs(m.translation).max() < 0.1, name
    idle = official.motions["yumi_h5_a3_idle"]
    assert np.degrees(np.abs(idle.pose[:, 1])).max() > 0.5              # the head does move
    avatar = official.to_avatar()
    params, unmapped = idle.params_for(avatar.rig.expr_names, avatar.rig.joint_names)
    assert unmapped == [] and torch.isfinite(avatar.animate(params[:3]).means).all()
