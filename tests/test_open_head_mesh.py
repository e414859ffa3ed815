"""The open head's mesh: closed where skin should be, manifold, outward, free of self-intersections, in
metres and FLAME's axes, at LAM's resolution."""

from __future__ import annotations

import numpy as np
import pytest

from lam_core.open_head.head_mesh import SKIN
from lam_core.open_head.mesh_checks import is_edge_manifold, openings, self_intersections, winding_consistent
from lam_core.open_head.mesh_ops import signed_volume
from lam_core.subdivision import subdivide

from .open_head_support import built_open_head


@pytest.fixture(scope="module")
def head():
    return built_open_head()


def _faces_of(head, names):
    m = head.model
    keep = np.isin(head.vertex_region[m.faces], [head.regions.index(n) for n in names]).all(1)
    return m.faces[keep]


def test_counts_and_units(head):
    m = head.model
    assert m.name == "open head"
    assert 4500 <= m.n_vertices <= 5500
    assert m.joint_names == ("global", "neck", "jaw", "eye_l", "eye_r") and m.parents == (-1, 0, 1, 1, 1)
    lo, hi = m.v_template.min(0), m.v_template.max(0)
    assert 0.28 < hi[1] - lo[1] < 0.36   # crown to neck base, metres
    assert 0.14 < hi[0] - lo[0] < 0.19   # head width
    # faces forward (+z): the nose is the front-most point
    assert m.v_template[:, 2].argmax() in (1, 4)


def test_skin_has_one_opening_and_parts_are_closed(head):
    skin = _faces_of(head, SKIN)
    holes = openings(skin)
    assert len(holes) == 1  # the neck's base: eyes and mouth open into their socket and cavity
    neck = head.model.v_template[holes[0]]
    assert np.ptp(neck[:, 1]) < 1e-6 and neck[:, 1].max() < head.model.v_template[:, 1].min() + 1e-6
    for part in ("eyeball_l", "eyeball_r", "teeth_upper", "teeth_lower"):
        f = _faces_of(head, (part,))
        assert len(f) and not openings(f), part
    assert not openings(head.model.faces)[1:]  # nothing else anywhere
    assert len(skin) + sum(len(_faces_of(head, (p,))) for p in
                           ("eyeball_l", "eyeball_r", "teeth_upper", "teeth_lower")) == len(head.model.faces)


def test_manifold_and_consistently_wound(head):
    f = head.model.faces
    assert is_edge_manifold(f)
    assert winding_consistent(f)
    assert len(np.unique(np.sort(f, 1), axis=0)) == len(f)  # no duplicate triangles


def test_normals_point_outward(head):
    v = head.model.v_template.astype(np.float64)
    for part in ("eyeball_l", "eyeball_r", "teeth_upper", "teeth_lower"):
        assert signed_volume(v, _faces_of(head, (part,))) > 0, part
    skin = _faces_of(head, SKIN)
    rim = openings(skin)[0]
    centre = len(v)
    cap = np.stack([rim, np.roll(rim, 1), np.full(len(rim), centre)], 1)  # close the neck to measure
    vol = signed_volume(np.vstack([v, v[rim].mean(0)]), np.vstack([skin, cap]))
    assert 3e-3 < vol < 6e-3  # a head and neck of a few litres, positive: faces point outward


def test_no_self_intersections_near_the_face_boundary(head):
    m = head.model
    v = m.v_template.astype(np.float64)
    nf = head.n_face_vertices
    # the face's outer boundary: face vertices used by non-face skin triangles
    cran = head.vertex_region == head.regions.index("cranium")
    border = np.unique(m.faces[cran[m.faces].any(1)])
    border = border[border < nf]
    from scipy.spatial import cKDTree

    d, _ = cKDTree(v[border]).query(v[m.faces].mean(1))
    near = np.flatnonzero(d < 0.025)
    assert len(near) > 500
    assert len(self_intersections(v, m.faces, near)) == 0
    # the eye sockets against the eyeballs, the mouth cavity against the teeth
    inner = np.flatnonzero(np.isin(head.vertex_region[m.faces[:, 0]],
                                   [head.regions.index(r) for r in ("socket_l", "socket_r", "mouth")]))
    assert len(self_intersections(v, m.faces, inner)) == 0


def test_intersection_test_detects_intersections():
    from lam_core.open_head.mesh_checks import triangle_pairs_intersect

    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.2, 0.2, -1], [0.2, 0.2, 1], [1, 1, 1.0], [0, 0, 1], [1, 0, 1],
                  [0, 1, 1.0]])
    assert triangle_pairs_intersect(v, np.array([[0, 1, 2], [0, 1, 2]]), np.array([[3, 4, 5], [6, 7, 8]])).tolist() \
        == [True, False]


def test_subdivided_point_counts_match_lam(head):
    m = head.model
    once = subdivide(m.faces, m.n_vertices, 1).n_fine
    twice = subdivide(m.faces, m.n_vertices, 2).n_fine
    assert abs(once - 20018) < 500      # LAM: 20,018
    assert abs(twice - 79936) < 2000    # LAM: 79,936
