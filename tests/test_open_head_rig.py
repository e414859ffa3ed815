"""The open head's rig: skinning, the jaw, landmark and ARKit channels, shape, landmarks, caching."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from lam_core.open_head import landmarks as L
from lam_core.open_head.parts import EYE_RADIUS
from lam_core.rig import Rig

from .open_head_support import built_open_head, open_head_cache_dir


@pytest.fixture(scope="module")
def head():
    return built_open_head()


def _pose(model, expr=None, pose=None):
    e = torch.zeros(1, model.n_expr)
    for name, value in (expr or {}).items():
        e[0, model.expr_names.index(name)] = value
    p = torch.zeros(1, 5, 3)
    for j, aa in (pose or {}).items():
        p[0, j] = torch.tensor(aa)
    return model.forward(expr=e, pose=p).vertices[0].double().numpy()


def test_lbs_weights_and_regressor(head):
    m = head.model
    np.testing.assert_allclose(m.lbs_weights.sum(1), 1.0, atol=1e-5)
    assert m.lbs_weights.min() >= 0
    np.testing.assert_allclose(m.j_regressor.sum(1), 1.0, atol=1e-5)
    assert m.j_regressor.min() >= 0
    joints = m.j_regressor.astype(np.float64) @ m.v_template
    assert joints[3, 0] > 0 > joints[4, 0]                      # eye_l on the subject's left (+x)
    assert joints[0, 1] < joints[1, 1] < joints[2, 1] < joints[3, 1]   # base of neck < neck < jaw < eyes
    for j, part in ((3, "eyeball_l"), (4, "eyeball_r")):
        ids = head.region_ids(part)
        np.testing.assert_array_equal(m.lbs_weights[ids, j], 1.0)
        r = np.linalg.norm(m.v_template[ids] - joints[j], axis=1)
        np.testing.assert_allclose(r, EYE_RADIUS, rtol=1e-4)
    assert np.all(m.lbs_weights[head.region_ids("teeth_lower"), 2] == 1.0)
    assert np.all(m.lbs_weights[head.region_ids("teeth_upper"), 2] == 0.0)
    assert not m.posedirs.any()


def test_jaw_opening_moves_chin_and_lower_lip_only(head):
    m = head.model
    rest = m.v_template.astype(np.float64)
    open_ = _pose(m, pose={2: [0.3, 0.0, 0.0]})
    moved = np.linalg.norm(open_ - rest, axis=1)
    for i in (L.CHIN, 17, 14, 18, 200):                     # chin, lower lip (outer, inner), below the lip
        assert moved[i] > 0.008, i
    assert open_[L.CHIN, 1] < rest[L.CHIN, 1] - 0.01        # the chin goes down
    for i in (L.FOREHEAD, 9, 151, L.NOSE_TIP, 13, 0, 159, 386):  # forehead, nose, upper lip, eyelids
        assert moved[i] < 1e-6, i
    cran = head.region_ids("cranium")
    top = cran[m.v_template[cran, 1] > 0.0]
    assert moved[top].max() < 1e-6                          # the whole cranium above the ears
    assert moved[head.region_ids("teeth_upper")].max() < 1e-6
    assert moved[head.region_ids("teeth_lower")].min() > 0.008


def test_landmark_channel_moves_its_vertex_exactly(head):
    m = head.model
    rest = m.v_template.astype(np.float64)
    for i in (L.NOSE_TIP, 152, 234):  # nose tip, chin (on the boundary), cheek by the ear (on the boundary)
        v = _pose(m, expr={f"lmk_{i:03d}_x": 0.01, f"lmk_{i:03d}_y": -0.004})
        np.testing.assert_allclose(v[i] - rest[i], [0.01, -0.004, 0.0], atol=1e-6)
        moved = np.linalg.norm(v - rest, axis=1)
        others = np.setdiff1d(np.arange(468), [i])
        assert moved[others].max() < 1e-7                    # other landmarks stay
        far = np.linalg.norm(rest - rest[i], axis=1) > 0.1    # the far side of the head
        assert far.sum() > 500 and moved[far].max() < 1e-7     # float32 skinning round-off at most
        cols = [m.expr_names.index(f"lmk_{i:03d}_{a}") for a in "xyz"]
        assert not m.exprdirs[far][:, :, cols].any()          # exactly no influence there
    # a boundary landmark drags the cranium next to it, smoothly
    v = _pose(m, expr={"lmk_234_x": -0.01})
    cran = head.region_ids("cranium")
    near = cran[np.linalg.norm(rest[cran] - rest[234], axis=1) < 0.01]
    assert len(near) and (v[near, 0] - rest[near, 0]).min() < -0.002


def test_channels_are_named(head):
    names = head.model.expr_names
    assert names[:3] == ("lmk_000_x", "lmk_000_y", "lmk_000_z") and names[1403] == "lmk_467_z"
    for n in ("eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft",
              "cheekSquintRight", "browInnerUp", "browDownLeft", "browDownRight", "mouthFunnel", "mouthPucker",
              "jawOpen"):
        assert n in names
    assert head.model.shape_names[:5] == ("head_width", "head_depth", "head_height", "jaw_width", "neck")


@pytest.mark.parametrize("side,upper,lower", [("Left", L.EYE_L_UPPER, L.EYE_L_LOWER),
                                              ("Right", L.EYE_R_UPPER, L.EYE_R_LOWER)])
def test_blink_closes_the_eye(head, side, upper, lower):
    m = head.model
    rest = m.v_template.astype(np.float64)
    v = _pose(m, expr={f"eyeBlink{side}": 1.0})
    gap_rest = np.linalg.norm(rest[list(upper[1:-1])] - rest[list(lower[1:-1])], axis=1)
    gap = np.linalg.norm(v[list(upper[1:-1])] - v[list(lower[1:-1])], axis=1)
    assert gap_rest.max() > 0.004 and gap.max() < 1e-4
    other = L.EYE_R_UPPER if side == "Left" else L.EYE_L_UPPER
    assert np.abs(v[list(other)] - rest[list(other)]).max() < 1e-4   # the other eye stays open
    # the closed lid covers the eyeball: the lid's middle is outside it
    j = m.j_regressor.astype(np.float64) @ rest
    centre = j[3 if side == "Left" else 4]
    assert np.linalg.norm(v[upper[4]] - centre) > EYE_RADIUS


def test_arkit_patterns_do_what_they_say(head):
    m = head.model
    rest = m.v_template.astype(np.float64)
    d = lambda name: _pose(m, expr={name: 1.0}) - rest  # noqa: E731
    assert d("mouthSmileLeft")[L.MOUTH_CORNER_L, 1] > 0.003 and abs(d("mouthSmileLeft")[L.MOUTH_CORNER_R]).max() < 1e-6
    assert d("browInnerUp")[107, 1] > 0.003 and d("browDownLeft")[334, 1] < -0.002
    assert d("jawOpen")[L.CHIN, 1] < -0.01 and abs(d("jawOpen")[L.FOREHEAD]).max() < 1e-6
    width = lambda v: v[L.MOUTH_CORNER_L, 0] - v[L.MOUTH_CORNER_R, 0]  # noqa: E731
    assert width(rest + d("mouthPucker")) < width(rest) - 0.008
    assert d("mouthFunnel")[0, 2] > 0.003 and d("cheekSquintLeft")[:, 1].max() > 0.002


def test_example_motions_play_on_the_open_head(head):
    from lam_core.example_motions import example_motions

    rig = Rig.from_head_model(head.model)
    for name, motion in example_motions().items():
        params, unmapped = motion.params_for(rig.expr_names, rig.joint_names)
        assert unmapped == [], name
        assert torch.isfinite(rig.deform(params).vertices).all()


def test_shape_puts_face_vertices_on_given_landmarks(head):
    m = head.model
    rng = np.random.default_rng(0)
    target = m.v_template[:468].astype(np.float64) + rng.normal(scale=0.002, size=(468, 3))
    shape = np.zeros(m.n_shape)
    shape[5:] = (target - m.v_template[:468]).reshape(-1)
    shape[0] = 1.0  # a wider head
    rig = Rig.from_head_model(m, shape)
    np.testing.assert_allclose(rig.vertices[:468], target, atol=2e-6)
    lm = m.landmarks.points(rig.vertices, m.faces)
    np.testing.assert_allclose(lm[:468], target, atol=2e-6)
    back = head.region_ids("cranium")
    wide = back[np.abs(m.v_template[back, 0]) > 0.07]
    assert np.abs(rig.vertices[wide, 0]).mean() > np.abs(m.v_template[wide, 0]).mean() + 0.003
    # joints follow the shape (the regressor averages vertices)
    j0 = m.j_regressor @ m.v_template
    assert np.linalg.norm(rig.joints[3] - j0[3]) > 0


def test_iris_landmarks_sit_on_the_eyeballs_and_follow_the_eyes(head):
    m = head.model
    rest = m.v_template.astype(np.float64)
    j = m.j_regressor.astype(np.float64) @ rest
    lm = m.landmarks.points(rest, m.faces)
    for ids, joint in ((L.IRIS_L, 3), (L.IRIS_R, 4)):
        r = np.linalg.norm(lm[list(ids)] - j[joint], axis=1)
        assert np.all(np.abs(r - EYE_RADIUS) < 0.0005)
        assert lm[ids[0], 2] > lm[list(ids[1:]), 2].max()   # the centre looks forward
        assert lm[ids[1], 0] > lm[ids[3], 0] and lm[ids[2], 1] > lm[ids[4], 1]
    v = _pose(m, pose={3: [0.0, 0.3, 0.0], 4: [0.0, 0.3, 0.0]})  # both eyes look to the subject's left
    moved = m.landmarks.points(v, m.faces)
    assert moved[L.IRIS_L[0], 0] > lm[L.IRIS_L[0], 0] + 0.002
    np.testing.assert_allclose(moved[:468], lm[:468], atol=1e-7)


def test_second_load_reads_the_cache_and_is_identical(head):
    from lam_core.open_head import model as model_module
    from lam_core.open_head.cache import load_arrays

    model_module.forget_loaded()
    built = head.cache_file.stat().st_mtime_ns
    again = model_module.load_open_head_parts(open_head_cache_dir())
    assert again is not head and again.cache_file == head.cache_file
    assert head.cache_file.stat().st_mtime_ns == built  # read back, not built again
    np.testing.assert_array_equal(again.model.exprdirs, head.model.exprdirs)
    assert load_arrays(head.cache_file).basis.shape[2] == head.model.n_expr + 5
