"""FLAME forward pass: template at zero, rigid global rotation, jaw locality, an independent numpy
reference, and gradients."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from lam_core.rotations import (
    axis_angle_to_matrix, blend_quaternions, matrix_to_quaternion, quaternion_multiply, quaternion_to_matrix,
)


def numpy_flame(m, shape, expr, pose, trans):
    """Plain-numpy FLAME (float64), written from the FLAME paper's equations independently of lam_core.lbs."""
    v = m.v_template.astype(np.float64) + np.einsum("vck,k->vc", m.shapedirs.astype(np.float64), shape)
    v = v + np.einsum("vck,k->vc", m.exprdirs.astype(np.float64), expr)
    joints = m.j_regressor.astype(np.float64) @ v
    rots = Rotation.from_rotvec(pose).as_matrix()
    feat = np.concatenate([(r - np.eye(3)).ravel() for r in rots[1:]])
    v = v + np.einsum("vcp,p->vc", m.posedirs.astype(np.float64), feat)
    world = []
    for j, p in enumerate(m.parents):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        local[:3, 3] = joints[j] - (joints[p] if p >= 0 else 0)
        world.append(local if p < 0 else world[p] @ local)
    out = np.zeros_like(v)
    for j, g in enumerate(world):
        a = g.copy()
        a[:3, 3] -= g[:3, :3] @ joints[j]
        out += m.lbs_weights[:, j:j + 1] * (v @ a[:3, :3].T + a[:3, 3])
    return out + trans, np.stack([g[:3, 3] for g in world]) + trans


def test_zero_parameters_give_template(flame_model):
    out = flame_model.forward(batch=2)
    np.testing.assert_allclose(out.vertices[1].numpy(), flame_model.v_template, atol=1e-7)


def test_global_rotation_is_rigid(flame_model):
    pose = torch.zeros(1, 5, 3)
    pose[0, 0] = torch.tensor([0.3, -0.7, 0.2])
    out = flame_model.forward(pose=pose).vertices[0].numpy()
    r = Rotation.from_rotvec([0.3, -0.7, 0.2]).as_matrix()
    j0 = flame_model.j_regressor[0] @ flame_model.v_template
    np.testing.assert_allclose(out, (flame_model.v_template - j0) @ r.T + j0, atol=2e-6)
    i, k = np.random.default_rng(0).integers(0, 5023, (2, 200))
    d0 = np.linalg.norm(flame_model.v_template[i] - flame_model.v_template[k], axis=1)
    np.testing.assert_allclose(np.linalg.norm(out[i] - out[k], axis=1), d0, atol=2e-6)


def test_jaw_moves_only_jaw_vertices(flame_model):
    pose = torch.zeros(1, 5, 3)
    pose[0, 2, 0] = 0.3
    moved = np.linalg.norm(flame_model.forward(pose=pose).vertices[0].numpy() - flame_model.v_template, axis=1)
    jaw_w = flame_model.lbs_weights[:, 2]
    jaw_correctives = np.abs(flame_model.posedirs[:, :, 9:18]).max(axis=(1, 2))  # the jaw's 9 correctives
    still = (jaw_w < 1e-7) & (jaw_correctives < 1e-9)
    assert moved[still].max() < 1e-6
    assert moved[jaw_w > 0.5].min() > 1e-3  # the chin moves by millimetres
    forehead = flame_model.v_template[:, 1] > 0.06
    assert moved[forehead].max() < 1e-6


def test_matches_independent_numpy_reference(flame_model):
    rng = np.random.default_rng(3)
    for _ in range(3):
        shape, expr = rng.normal(size=300), rng.normal(size=100) * 1.5
        pose, trans = rng.normal(scale=0.3, size=(5, 3)), rng.normal(scale=0.05, size=3)
        ref_v, ref_j = numpy_flame(flame_model, shape, expr, pose, trans)
        t = lambda a: torch.tensor(a, dtype=torch.float32)[None]  # noqa: E731
        out = flame_model.forward(t(shape), t(expr), t(pose), t(trans))
        np.testing.assert_allclose(out.vertices[0].numpy(), ref_v, atol=1e-5, rtol=0)
        np.testing.assert_allclose(out.joints[0].numpy(), ref_j, atol=1e-5, rtol=0)


def test_gradients_reach_every_input(flame_model):
    inputs = {
        "shape": torch.zeros(2, 300, requires_grad=True),
        "expr": torch.zeros(2, 100, requires_grad=True),
        "pose": torch.zeros(2, 5, 3, requires_grad=True),  # zero pose: Rodrigues' gradient must still flow
        "translation": torch.zeros(2, 3, requires_grad=True),
    }
    out = flame_model.forward(**inputs)
    target = torch.randn_like(out.vertices)
    (out.vertices * target).sum().backward()
    for name, x in inputs.items():
        g = x.grad
        assert g is not None and torch.isfinite(g).all(), name
        assert (g.abs() > 0).float().mean() > 0.9, f"{name}: gradient missing for some components"


def test_axis_angle_matches_scipy():
    aa = np.random.default_rng(1).normal(size=(100, 3))
    aa[0] = 0
    aa[1] = [1e-9, 0, 0]
    aa[2] = [np.pi, 0, 0]
    np.testing.assert_allclose(axis_angle_to_matrix(torch.tensor(aa)).numpy(),
                               Rotation.from_rotvec(aa).as_matrix(), atol=1e-12)


def test_quaternion_round_trip_and_product():
    rng = np.random.default_rng(2)
    r = Rotation.random(500, random_state=4)
    m = torch.tensor(r.as_matrix())
    q = matrix_to_quaternion(m)
    xyzw = r.as_quat()
    ref = np.concatenate([xyzw[:, 3:], xyzw[:, :3]], 1)
    ref *= np.sign(ref[:, :1])
    np.testing.assert_allclose(q.numpy(), ref, atol=1e-10)
    np.testing.assert_allclose(quaternion_to_matrix(q).numpy(), r.as_matrix(), atol=1e-12)
    r2 = Rotation.random(500, random_state=5)
    q2 = matrix_to_quaternion(torch.tensor(r2.as_matrix()))
    np.testing.assert_allclose(quaternion_to_matrix(quaternion_multiply(q, q2)).numpy(),
                               (r * r2).as_matrix(), atol=1e-12)
    assert rng is not None


def test_blended_rotation_of_a_single_joint_is_that_joint():
    r = Rotation.random(5, random_state=1)
    q = matrix_to_quaternion(torch.tensor(r.as_matrix(), dtype=torch.float64))[None]
    q[:, 3] = -q[:, 3]  # the same rotation in the other hemisphere must blend the same
    w = torch.eye(5, dtype=torch.float64)
    out = blend_quaternions(w, q)[0]
    np.testing.assert_allclose(quaternion_to_matrix(out).numpy(), r.as_matrix(), atol=1e-12)
    half = torch.tensor([[0.5, 0.5, 0, 0, 0]], dtype=torch.float64)
    mid = quaternion_to_matrix(blend_quaternions(half, q)[0, 0]).numpy()
    slerp = (r[0] * Rotation.from_rotvec((r[0].inv() * r[1]).as_rotvec() / 2)).as_matrix()
    np.testing.assert_allclose(mid, slerp, atol=1e-12)


@pytest.mark.parametrize("levels,points", [(1, 20018), (2, 79936)])
def test_subdivided_model_keeps_joints_and_base_vertices(flame_model, levels, points):
    fine = flame_model.subdivide(levels)
    assert fine.n_vertices == points and len(fine.faces) == len(flame_model.faces) * 4 ** levels
    rng = np.random.default_rng(levels)
    t = lambda a: torch.tensor(a, dtype=torch.float32)[None]  # noqa: E731
    args = (t(rng.normal(size=300)), t(rng.normal(size=100)), t(rng.normal(scale=0.3, size=(5, 3))), t(np.zeros(3)))
    base, sub = flame_model.forward(*args), fine.forward(*args)
    np.testing.assert_allclose(sub.joints.numpy(), base.joints.numpy(), atol=1e-6)
    np.testing.assert_allclose(sub.vertices[0, :5023].numpy(), base.vertices[0].numpy(), atol=1e-6)


def test_rig_deform_is_the_head_models_forward(flame_model):
    """A person's Rig (shape baked in, joints moved by expressions through joint_exprdirs) poses its mesh
    exactly as the head model's own forward pass with that shape."""
    from lam_core.params import FrameParams
    from lam_core.rig import Rig

    rng = np.random.default_rng(5)
    shape = rng.normal(size=flame_model.n_shape).astype(np.float32)
    b, k, j = 3, flame_model.n_expr, flame_model.n_joints
    expr = torch.tensor(rng.normal(size=(b, k)) * 1.5, dtype=torch.float32)
    pose = torch.tensor(rng.normal(size=(b, j, 3)) * 0.3, dtype=torch.float32)
    trans = torch.tensor(rng.normal(size=(b, 3)) * 0.02, dtype=torch.float32)
    rig = Rig.from_head_model(flame_model, shape)
    got = rig.deform(FrameParams(expr, pose, trans))
    want = flame_model.forward(shape=torch.from_numpy(shape)[None].expand(b, -1), expr=expr, pose=pose,
                               translation=trans)
    # expressions move the joints here (the jaw follows the chin), so joint_exprdirs is part of what is checked
    moved = np.abs(np.einsum("jck,bk->bjc", rig.joint_exprdirs, expr.numpy())).max()
    assert moved > 1e-3
    np.testing.assert_allclose(got.joints.numpy(), want.joints.numpy(), atol=2e-6)
    np.testing.assert_allclose(got.vertices.numpy(), want.vertices.numpy(), atol=2e-6)
