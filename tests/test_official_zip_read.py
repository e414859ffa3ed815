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
    params, unmapped = motion.params_for(avatar.rig.expr_names)
    assert unmapped in ([], ["tongueOut"])                   # the skin has 51 of ARKit's 52 channels
    posed = avatar.animate(params[200:203])
    assert torch.isfinite(posed.means).all()
    assert (posed.means[0] - posed.means[2]).norm(dim=-1).max() > 1e-4  # the face moves with the speech
