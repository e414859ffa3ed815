import numpy as np
import trimesh

from lam_core import LandmarkEmbedding, Rig, subdivide


def test_counts_for_flame_layout(flame_model):
    once = subdivide(flame_model.faces, flame_model.n_vertices, 1)
    twice = subdivide(flame_model.faces, flame_model.n_vertices, 2)
    assert (once.n_fine, len(once.faces)) == (20018, 4 * 9976)
    assert (twice.n_fine, len(twice.faces)) == (79936, 16 * 9976)


def test_midpoints_and_orientation(flame_model):
    v, f = flame_model.v_template.astype(np.float64), flame_model.faces
    sub = subdivide(f, len(v), 1)
    fine = sub.apply(v)
    np.testing.assert_array_equal(fine[: len(v)], v)  # old vertices keep their index and place
    edges = trimesh.Trimesh(v, f, process=False).edges_unique
    np.testing.assert_allclose(fine[len(v):], v[edges].mean(1), atol=1e-12)
    # each fine triangle faces the same way as its parent and the mesh stays a closed-up-to-holes manifold
    n_parent = trimesh.Trimesh(v, f, process=False).face_normals
    n_child = trimesh.Trimesh(fine, sub.faces, process=False).face_normals
    assert (np.einsum("ij,ij->i", np.tile(n_parent, (4, 1)), n_child) > 0.99).all()
    fm = trimesh.Trimesh(fine, sub.faces, process=False)
    assert fm.euler_number == trimesh.Trimesh(v, f, process=False).euler_number
    assert fm.is_winding_consistent


def test_interpolation_is_at_most_four_base_vertices(flame_model):
    sub = subdivide(flame_model.faces, flame_model.n_vertices, 2)
    nnz = np.diff(sub.interp.indptr)
    assert nnz.max() <= 4 and nnz.min() == 1
    np.testing.assert_allclose(np.asarray(sub.interp.sum(1)).ravel(), 1.0)


def test_rig_subdivision_carries_everything(flame_model):
    rig = Rig.from_head_model(flame_model, shape=np.linspace(-1, 1, 300))
    fine = rig.subdivide(2)
    assert fine.base is rig and fine.interp.shape == (79936, 5023)
    for key in ("vertices", "lbs_weights", "exprdirs", "posedirs"):
        base = getattr(rig, key)
        np.testing.assert_allclose(getattr(fine, key), (fine.interp @ base.reshape(5023, -1)).reshape(-1, *base.shape[1:]),
                                   atol=1e-6)
    np.testing.assert_allclose(fine.lbs_weights.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(fine.joints, rig.joints)
    # subdividing in two steps gives the same map as in one call
    two_step = rig.subdivide(1).subdivide(1)
    assert two_step.base is rig
    assert abs(two_step.interp - fine.interp).max() < 1e-12


def test_landmarks_stay_put_through_subdivision(flame_model):
    rng = np.random.default_rng(0)
    n = 300
    bary = rng.dirichlet([1, 1, 1], size=n)
    lm = LandmarkEmbedding(ids=np.arange(n), faces=rng.integers(0, len(flame_model.faces), n), bary=bary)
    model = flame_model.with_landmarks(lm)
    before = lm.points(model.v_template.astype(np.float64), model.faces)
    for levels in (1, 2):
        fine = model.subdivide(levels)
        after = fine.landmarks.points(fine.v_template.astype(np.float64), fine.faces)
        np.testing.assert_allclose(after, before, atol=1e-6)
        assert (fine.landmarks.bary >= -1e-9).all()
