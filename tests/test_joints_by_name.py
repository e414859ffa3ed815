"""Joints by name: a rig's joints may come in any order, or lack some of FLAME's (the .lam format allows any
1024 named joints). A motion's FLAME joints reach the rig's joints of the same names; a rig without eyes
plays a motion that turns them, and says which joints it lacks. The JS twin: tests/js/motion.test.mjs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from exporter.render_avatar import motion_params
from lam_core import JOINT_NAMES, GaussianAvatar, Motion
from lam_core.synthetic import synthetic_avatar


def permuted(rig, order):
    """The same rig with its joints in another order (``order[new] = old``; root first, parents first)."""
    new_of = {old: new for new, old in enumerate(order)}
    v, j = rig.n_vertices, rig.n_joints
    posedirs = rig.posedirs.reshape(v, 3, j - 1, 9)[:, :, [o - 1 for o in order[1:]]].reshape(v, 3, -1)
    return replace(rig, joints=rig.joints[order], joint_exprdirs=rig.joint_exprdirs[order],
                   parents=tuple(-1 if rig.parents[o] < 0 else new_of[rig.parents[o]] for o in order),
                   joint_names=tuple(rig.joint_names[o] for o in order), lbs_weights=rig.lbs_weights[:, order],
                   posedirs=posedirs)


def without(rig, names):
    """The rig without these leaf joints: their vertices follow the parent joint."""
    keep = [i for i, n in enumerate(rig.joint_names) if n not in names]
    w = rig.lbs_weights.copy()
    for i, n in enumerate(rig.joint_names):
        if n in names:
            w[:, rig.parents[i]] += w[:, i]
    v, j = rig.n_vertices, rig.n_joints
    posedirs = rig.posedirs.reshape(v, 3, j - 1, 9)[:, :, [k - 1 for k in keep[1:]]].reshape(v, 3, -1)
    return replace(rig, joints=rig.joints[keep], joint_exprdirs=rig.joint_exprdirs[keep],
                   parents=tuple(rig.parents[k] if rig.parents[k] < 0 else keep.index(rig.parents[k]) for k in keep),
                   joint_names=tuple(rig.joint_names[k] for k in keep), lbs_weights=w[:, keep], posedirs=posedirs)


@pytest.fixture(scope="module")
def avatar() -> GaussianAvatar:
    return synthetic_avatar(1)


def motion(n: int = 6) -> Motion:
    rng = np.random.default_rng(3)
    pose = rng.normal(scale=0.25, size=(n, 5, 3)).astype(np.float32)
    return Motion(("expr_00",), rng.normal(size=(n, 1)).astype(np.float32), pose,
                  rng.normal(scale=0.01, size=(n, 3)).astype(np.float32))


def test_the_synthetic_rig_is_flame_layout(avatar):
    assert avatar.rig.joint_names == JOINT_NAMES


def test_a_rig_with_its_joints_in_another_order_plays_a_motion_the_same(avatar):
    rig = avatar.rig
    other = permuted(rig, [0, 1, 4, 3, 2])   # global, neck, eye_r, eye_l, jaw
    assert other.joint_names == ("global", "neck", "eye_r", "eye_l", "jaw") and other.parents == rig.parents
    m = motion()
    want = rig.deform(m.params_for(rig.expr_names, rig.joint_names)[0]).vertices
    params, unmapped = motion_params(GaussianAvatar(replace(avatar.points, rig=other), avatar.gaussians), m)
    assert unmapped == []
    np.testing.assert_allclose(other.deform(params).vertices.numpy(), want.numpy(), atol=1e-6)
    # and the jaw's rotation reaches the joint named jaw, wherever it is
    np.testing.assert_array_equal(params.pose[:, 4].numpy(), m.pose[:, JOINT_NAMES.index("jaw")])


def test_a_rig_without_eyes_plays_a_motion_and_names_the_joints_it_lacks(avatar):
    rig = avatar.rig
    eyeless = without(rig, ("eye_l", "eye_r"))
    assert eyeless.joint_names == ("global", "neck", "jaw")
    m = motion()
    params, unmapped = m.params_for(eyeless.expr_names, eyeless.joint_names)
    assert unmapped == ["eye_l", "eye_r"] and params.pose.shape == (m.n_frames, 3, 3)
    still_eyes = replace(m, pose=np.concatenate([m.pose[:, :3], np.zeros_like(m.pose[:, 3:])], 1))
    want = rig.deform(still_eyes.params_for(rig.expr_names, rig.joint_names)[0]).vertices
    np.testing.assert_allclose(eyeless.deform(params).vertices.numpy(), want.numpy(), atol=1e-6)
    # a motion that never turns the eyes loses nothing
    assert still_eyes.params_for(eyeless.expr_names, eyeless.joint_names)[1] == []


def test_the_webcam_check_reads_the_pages_pose_in_the_avatars_joint_order():
    """The page logs the solved pose in the avatar's joint order; the check compares it with the truth by name."""
    from exporter.webcam_check import analyse
    from exporter.webcam_clip import truth_motion

    truth = truth_motion(24.0)
    order = [0, 1, 4, 3, 2]
    names = tuple(JOINT_NAMES[o] for o in order)

    def entries(pose):
        return [{"tag": k, "t": 1000.0 * k / truth.fps, "face": True, "calibrated": True, "trackMs": 0.0,
                 "solveMs": 0.0, "pose": pose[k].reshape(-1).tolist(), "expr": truth.channels[k].tolist()}
                for k in range(truth.n_frames)]

    fig = analyse(entries(truth.pose[:, order]), truth, truth.duration, joint_names=names)
    assert fig.jaw_correlation > 0.999 and abs(fig.jaw_gain - 1) < 1e-6 and abs(fig.yaw_gain - 1) < 1e-6
