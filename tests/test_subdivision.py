import numpy as np
import trimesh

import torch

from lam_core import FrameParams, LandmarkEmbedding, Rig, subdivide


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


def test_rig_points_match_the_subdivided_model(flame_model):
    """Blending on the base mesh and interpolating (RigPoints) equals skinning the subdivided model whose
    bases were carried to every new vertex (HeadModel.subdivide)."""
    rng = np.random.default_rng(0)
    shape = rng.normal(size=300)
    points = Rig.from_head_model(flame_model, shape).subdivide(2)
    dense = Rig.from_head_model(flame_model.subdivide(2), shape)
    assert points.n_points == dense.n_vertices == 79936
    np.testing.assert_allclose(points.vertices, dense.vertices, atol=1e-6)
    np.testing.assert_allclose(points.lbs_weights, dense.lbs_weights, atol=1e-6)
    np.testing.assert_allclose(points.lbs_weights.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(points.faces, dense.faces)
    f = lambda *s, scale=1.0: torch.tensor(rng.normal(scale=scale, size=s), dtype=torch.float32)  # noqa: E731
    params = FrameParams(f(3, 100), f(3, 5, 3, scale=0.3), f(3, 3, scale=0.01))
    np.testing.assert_allclose(points.deform(params).vertices.numpy(), dense.deform(params).vertices.numpy(),
                               atol=2e-6)
    # the mesh's own vertices as points are the mesh
    base = Rig.from_head_model(flame_model, shape)
    np.testing.assert_allclose(base.points().deform(params).vertices.numpy(), base.deform(params).vertices.numpy(),
                               atol=1e-6)


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


def test_subdivision_that_leaves_the_coarse_part_alone():
    """The open head's back is not subdivided: the triangles among coarse vertices stay whole or are split only
    at the midpoints their fine neighbours share; the surface is the same (closed, consistently wound, the same
    volume), and the points alone give back the triangles (what a .lam of kind 'adaptive' relies on)."""
    import trimesh

    from lam_core.subdivision import kept_edges, subdivide, subdivide_at, subdivide_except

    m = trimesh.creation.icosphere(3)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    coarse = v[:, 2] < -0.2
    s = subdivide_except(f, len(v), coarse)
    u = subdivide(f, len(v))
    back = coarse[f].all(1).sum()
    assert s.n_fine < u.n_fine and len(s.faces) < len(u.faces)
    fine = trimesh.Trimesh(s.interp @ v, s.faces, process=False)
    assert fine.is_watertight and fine.is_winding_consistent and fine.area_faces.min() > 1e-6
    assert abs(fine.volume - m.volume) < 1e-9
    # the triangles wholly in the coarse part and away from the fine one are the base triangles themselves
    whole = {tuple(sorted(t)) for t in s.faces.tolist()}
    assert sum(tuple(sorted(t)) in whole for t in f[coarse[f].all(1)].tolist()) > 0.5 * back
    # the fine part is split exactly as subdivide splits it: its points are the same
    sub_pts = {tuple(np.round(p, 9)) for p in (u.interp @ v)[(u.interp @ (~coarse).astype(float)) > 0.99]}
    assert sub_pts <= {tuple(np.round(p, 9)) for p in s.interp @ v}
    k = kept_edges(f, len(v), s.interp)
    again = subdivide_at(f, len(v), k)
    assert np.array_equal(again.faces, s.faces) and abs(again.interp - s.interp).max() == 0
    # all fine: the uniform subdivision, point for point
    everywhere = subdivide_except(f, len(v), np.zeros(len(v), bool))
    assert np.array_equal(everywhere.faces, u.faces) and abs(everywhere.interp - u.interp).max() == 0
    # rows that are not base vertices then edge midpoints in edge order are not this layout
    assert kept_edges(f, len(v), u.interp[::-1]) is None
    assert kept_edges(f, len(v), subdivide(f, len(v), 2).interp) is None
