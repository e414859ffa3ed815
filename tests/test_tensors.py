"""Head models, rigs, rig points and Gaussians give their arrays as tensors on the device and in the dtype asked
for (lam_core.tensors), made once per (device, dtype), and pose wherever their parameters are.

The "meta" device (shapes without data, present in every torch build) stands in for a GPU where the maths
allows: torch has no sparse matrix product on "meta", so rig points and Gaussians prove that they follow the
parameters with float64 instead. A CUDA check runs where a GPU is present and skips, saying so, elsewhere.
"""

import copy
import dataclasses
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from lam_core import FrameParams, Rig
from lam_core.synthetic import synthetic_avatar
from lam_core.tensors import ArrayTensors


@pytest.fixture(scope="module")
def avatar():
    return synthetic_avatar(levels=1)


def moving_params(k: int, b: int = 3, seed: int = 1) -> FrameParams:
    g = torch.Generator().manual_seed(seed)
    return FrameParams(torch.randn(b, k, generator=g) * 0.5, torch.randn(b, 5, 3, generator=g) * 0.2,
                       torch.randn(b, 3, generator=g) * 0.01)


def test_array_tensors_made_once_per_device_and_dtype():
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    m = sp.csr_matrix(np.eye(4, dtype=np.float64)[[0, 2, 3]])
    t = ArrayTensors({"a": a, "m": m})
    cpu = t.to()
    assert t.to("cpu") is cpu and t.like(torch.zeros(1)) is cpu  # one set, reused
    assert cpu["a"].dtype == torch.float32 and np.shares_memory(cpu["a"].numpy(), a)  # no copy on the CPU
    assert cpu["m"].layout == torch.sparse_coo and cpu["m"].dtype == torch.float32
    np.testing.assert_array_equal(cpu["m"].to_dense().numpy(), m.toarray())
    f64 = t.to(dtype=torch.float64)
    assert f64 is not cpu and f64["a"].dtype == torch.float64 and f64["m"].dtype == torch.float64
    np.testing.assert_array_equal(f64["a"].numpy(), a)
    meta = t.to("meta")
    assert meta["a"].device.type == "meta" and meta["m"].device.type == "meta" and meta["a"].shape == (4, 3)
    with pytest.raises(TypeError):
        cpu["a"] = torch.zeros(1)  # read-only: a set cannot be changed behind its object's back


def test_head_model_runs_where_its_inputs_are(flame_model):
    k = flame_model.n_expr
    g = torch.Generator().manual_seed(0)
    shape, expr = torch.randn(2, flame_model.n_shape, generator=g), torch.randn(2, k, generator=g)
    pose, trans = torch.randn(2, 5, 3, generator=g) * 0.2, torch.randn(2, 3, generator=g) * 0.01
    out = flame_model.forward(shape, expr, pose, trans)
    assert out.vertices.dtype == torch.float32 and out.vertices.device.type == "cpu"

    meta = flame_model.forward(*(x.to("meta") for x in (shape, expr, pose, trans)))
    assert meta.vertices.device.type == "meta" and meta.vertices.shape == out.vertices.shape
    assert all(x.device.type == "meta" for x in flame_model.tensors.to("meta").values())

    f64 = flame_model.forward(*(x.double() for x in (shape, expr, pose, trans)))
    assert f64.vertices.dtype == torch.float64 and f64.transforms.dtype == torch.float64
    np.testing.assert_allclose(f64.vertices.numpy(), out.vertices.numpy(), atol=2e-5)

    again = flame_model.forward(shape, expr, pose, trans)  # other sets leave the CPU float32 one as it was
    assert torch.equal(again.vertices, out.vertices)
    rest = flame_model.forward(batch=2)  # no inputs: the CPU, float32
    assert rest.vertices.dtype == torch.float32
    np.testing.assert_allclose(rest.vertices[1].numpy(), flame_model.v_template, atol=1e-6)


def test_rig_deforms_where_its_parameters_are(flame_model):
    rig = Rig.from_head_model(flame_model, np.linspace(-1, 1, 300))
    p = moving_params(rig.n_expr)
    out = rig.deform(p)
    meta = rig.deform(p.to("meta"))
    assert meta.vertices.device.type == "meta" and meta.vertices.shape == out.vertices.shape
    assert meta.joints.device.type == "meta"
    f64 = rig.deform(p.to(torch.float64))
    assert f64.vertices.dtype == torch.float64
    np.testing.assert_allclose(f64.vertices.numpy(), out.vertices.numpy(), atol=2e-5)
    assert torch.equal(rig.deform(p).vertices, out.vertices)


def test_points_and_gaussians_follow_the_parameters(avatar):
    p = moving_params(avatar.rig.n_expr)
    posed = avatar.animate(p)
    assert posed.means.dtype == torch.float32 and posed.scales.dtype == torch.float32

    f64 = avatar.animate(p.to(torch.float64))
    for name in ("means", "quats", "scales", "colors", "opacities"):
        assert getattr(f64, name).dtype == torch.float64, name
    np.testing.assert_allclose(f64.means.numpy(), posed.means.numpy(), atol=2e-5)
    np.testing.assert_allclose(f64.quats.numpy(), posed.quats.numpy(), atol=2e-5)
    np.testing.assert_array_equal(f64.colors.numpy(), avatar.gaussians.colors)

    # every tensor posing needs moves: the Gaussians' arrays, the points' sparse map and weights, the rig's bases
    for t in (avatar.gaussians.tensors, avatar.points.tensors, avatar.rig.tensors):
        assert all(x.device.type == "meta" for x in t.to("meta").values())
    assert avatar.points.tensors.to("meta")["interp"].layout == torch.sparse_coo

    assert torch.equal(avatar.animate(p).means, posed.means)


def test_replace_and_copies_make_fresh_tensors(avatar):
    """No cache outlives the arrays it was made from: a replaced, copied or unpickled object has its own tensors."""
    g = avatar.gaussians
    g.tensors.to()
    brighter = dataclasses.replace(g, colors=np.clip(g.colors + 0.1, 0, 1).astype(np.float32))
    np.testing.assert_array_equal(brighter.tensors.to()["colors"].numpy(), brighter.colors)
    rig = avatar.rig
    moved = dataclasses.replace(rig, vertices=rig.vertices + np.float32(0.01))
    rest = moved.deform(FrameParams.zeros(1, rig.n_expr)).vertices[0].numpy()
    np.testing.assert_allclose(rest, moved.vertices, atol=1e-6)
    for obj in (g, rig, avatar.points, avatar):
        assert "_torch" not in vars(obj) and "_cache" not in vars(obj)
    p = moving_params(rig.n_expr, b=1)
    want = avatar.animate(p).means
    for twin in (pickle.loads(pickle.dumps(avatar)), copy.deepcopy(avatar)):
        assert twin.gaussians.tensors is not g.tensors and twin.points.tensors is not avatar.points.tensors
        assert torch.equal(twin.animate(p).means, want)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the GPU check needs one")
def test_animate_on_cuda_matches_cpu(avatar):
    p = moving_params(avatar.rig.n_expr)
    posed = avatar.animate(p)
    on_gpu = avatar.animate(p.to("cuda"))
    assert on_gpu.means.is_cuda and on_gpu.scales.is_cuda
    np.testing.assert_allclose(on_gpu.means.cpu().numpy(), posed.means.numpy(), atol=1e-5)
    assert avatar.gaussians.tensors.to("cuda") is avatar.gaussians.tensors.like(on_gpu.means)  # "cuda" is "cuda:0"
