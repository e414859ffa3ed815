import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from lam_core import FrameParams, GaussianAvatar, Gaussians, Rig
from lam_core.rotations import quaternion_to_matrix


@pytest.fixture(scope="module")
def avatar(flame_model):
    points = Rig.from_head_model(flame_model).subdivide(1)
    n = points.n_points
    rng = np.random.default_rng(0)
    q = rng.normal(size=(n, 4))
    g = Gaussians(
        offsets=rng.normal(scale=0.002, size=(n, 3)).astype(np.float32),
        colors=rng.uniform(size=(n, 3)).astype(np.float32),
        opacities=rng.uniform(0.5, 1, size=n).astype(np.float32),
        scales=rng.uniform(0.001, 0.004, size=(n, 3)).astype(np.float32),
        rotations=(q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32),
    )
    return GaussianAvatar(points, g)


def covariances(quats, scales):
    r = quaternion_to_matrix(torch.as_tensor(quats, dtype=torch.float64)).numpy()
    s = np.asarray(scales, dtype=np.float64)
    return np.einsum("nij,nj,nkj->nik", r, s ** 2, r)


def test_zero_parameters_give_canonical(avatar):
    posed = avatar.animate(FrameParams.zeros(1, 100))
    np.testing.assert_allclose(posed.means[0].numpy(), avatar.canonical_means(), atol=1e-6)
    q = posed.quats[0].numpy()
    q0 = avatar.gaussians.rotations
    np.testing.assert_allclose(np.abs((q * q0).sum(1)), 1.0, atol=1e-6)


def test_global_rotation_turns_covariances(avatar):
    aa = np.array([0.2, 0.9, -0.3])
    p = FrameParams.zeros(1, 100)
    p.pose[0, 0] = torch.tensor(aa)
    p.translation[0] = torch.tensor([0.01, -0.02, 0.3])
    posed = avatar.animate(p)
    r = Rotation.from_rotvec(aa).as_matrix()
    j0 = avatar.rig.joints[0]
    np.testing.assert_allclose(posed.means[0].numpy(), (avatar.canonical_means() - j0) @ r.T + j0 + [0.01, -0.02, 0.3],
                               atol=3e-6)
    before = covariances(avatar.gaussians.rotations, avatar.gaussians.scales)
    after = covariances(posed.quats[0].numpy(), posed.scales.numpy())
    np.testing.assert_allclose(after, r @ before @ r.T, atol=1e-11)


def test_jaw_turns_jaw_gaussians_only(avatar):
    p = FrameParams.zeros(1, 100)
    p.pose[0, 2, 0] = 0.35
    posed = avatar.animate(p)
    w = avatar.points.lbs_weights
    jaw_only, no_jaw = w[:, 2] > 1 - 1e-6, w[:, 2] < 1e-7
    assert jaw_only.sum() > 100 and no_jaw.sum() > 1000
    q = posed.quats[0].numpy()
    r = Rotation.from_rotvec([0.35, 0, 0]).as_matrix()
    before = covariances(avatar.gaussians.rotations[jaw_only], avatar.gaussians.scales[jaw_only])
    after = covariances(q[jaw_only], avatar.gaussians.scales[jaw_only])
    np.testing.assert_allclose(after, r @ before @ r.T, atol=1e-11)
    np.testing.assert_allclose(np.abs((q[no_jaw] * avatar.gaussians.rotations[no_jaw]).sum(1)), 1.0, atol=1e-6)


def test_means_follow_the_rig(avatar):
    rng = np.random.default_rng(5)
    p = FrameParams(torch.tensor(rng.normal(size=(4, 100)), dtype=torch.float32),
                    torch.tensor(rng.normal(scale=0.2, size=(4, 5, 3)), dtype=torch.float32),
                    torch.tensor(rng.normal(scale=0.01, size=(4, 3)), dtype=torch.float32))
    posed = avatar.animate(p)
    ref = avatar.points.deform(p, offsets=torch.from_numpy(avatar.gaussians.offsets)).vertices
    np.testing.assert_allclose(posed.means.numpy(), ref.numpy(), atol=1e-6)
    # a batch is the same as its frames one by one, and chunking does not change anything
    for i in range(4):
        one = avatar.animate(p[i])
        np.testing.assert_allclose(one.means[0].numpy(), posed.means[i].numpy(), atol=1e-6)
        np.testing.assert_allclose(one.quats[0].numpy(), posed.quats[i].numpy(), atol=1e-6)
    chunked = avatar.animate(p, frames_per_chunk=1)
    np.testing.assert_allclose(chunked.quats.numpy(), posed.quats.numpy(), atol=1e-7)


def test_rejects_mismatched_sizes(avatar):
    with pytest.raises(ValueError):
        GaussianAvatar(avatar.rig.points(), avatar.gaussians)
    with pytest.raises(ValueError, match="expression channels"):
        avatar.animate(FrameParams.zeros(1, 50))
