"""lam_core.exercise: the one sequence that exercises every parameter (lam-verify's built-in frames, the .lam
fidelity probe). Every joint and channel moves, each at an amplitude of its kind, so a head stays a head:
the open head's landmark channels are metres, not FLAME's standard deviations."""

from __future__ import annotations

import numpy as np

from exporter.lamfile import read_lam
from lam_core.camera import bounding_sphere
from lam_core.exercise import LANDMARK_M, exercise_sequence
from lam_core.head_model import JOINT_NAMES, flame_expr_names
from lam_core.params import FrameParams


def test_every_parameter_moves():
    p = exercise_sequence(flame_expr_names(100), frames=30)
    assert p.batch == 30 and float(p.pose[0].abs().max()) == 0 and float(p.expr[0].abs().max()) == 0
    turn = p.pose.abs().amax(0)
    assert (turn[[0, 1, 3, 4], :2] > 0.2).all() and turn[2, 0] > 0.3  # head, neck, eyes two axes; jaw opens
    assert (p.expr.abs().amax(0) > 0.3).all()                   # every expression channel
    assert (p.translation.abs().amax(0) > 0.01).all()


def test_joints_by_name_and_channels_by_kind():
    names = ("lmk_000_x", "lmk_000_y", "jawOpen", "expr_00")
    p = exercise_sequence(names, joint_names=("global", "jaw", "tail"), frames=20)
    peak = p.expr.abs().amax(0).numpy()
    assert peak[:2].max() <= LANDMARK_M and peak[2] <= 1.0 and peak[3] > 0.3
    assert float(p.expr[:, 2].min()) >= 0.0                      # a blendshape weight is never negative
    assert float(p.pose[:, 1, 0].min()) >= 0.0                   # the jaw opens, never closes past rest
    assert float(p.pose[:, 2].abs().max()) > 0.1                 # a joint FLAME does not have moves too
    assert exercise_sequence(names, JOINT_NAMES, 5).pose.shape == (5, 5, 3)


def test_the_open_head_stays_a_head(photo_lam):
    """The photo's open-head avatar under the sequence: expressions move the face by millimetres to centimetres
    (not metres: lam-verify once scattered it), and the posed frames fit a sphere little larger than the head,
    so lam-verify's camera frames the head."""
    avatar = read_lam(photo_lam).avatar
    rig = avatar.rig
    p = exercise_sequence(rig.expr_names, rig.joint_names, 12)
    posed = avatar.animate(p).means.numpy()
    rigid = avatar.animate(FrameParams(p.expr * 0, p.pose, p.translation)).means.numpy()
    moved = np.linalg.norm(posed - rigid, axis=-1).max(1)
    assert 0.002 < moved.max() < 0.05, moved
    _, rest = bounding_sphere(avatar.canonical_means())
    _, frames = bounding_sphere(posed)
    assert frames < 1.3 * rest, (frames, rest)
