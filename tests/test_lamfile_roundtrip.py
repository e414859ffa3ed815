"""The .lam file round trip: exact in lossless mode, bounded error when quantised, for every kind of rig."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exporter.cli.export import main as export_main
from exporter.lamfile import LamFileError, Quantisation, decode_lam, encode_lam, read_lam, write_lam
from exporter.lamfile import spec
from exporter.lamfile.fidelity import posed_errors
from lam_core.exercise import exercise_sequence
from lam_core.synthetic import synthetic_avatar
from tests.lam_support import (PNG_1x1, adaptive_avatar, frame, general_interp_avatar, sparse_channel_avatar, split,
                               tiny_avatar)

RIG_ARRAYS = ("vertices", "faces", "joints", "joint_exprdirs", "lbs_weights", "exprdirs", "posedirs")
GAUSSIAN_ARRAYS = ("offsets", "colors", "opacities", "scales", "rotations")


@pytest.fixture(scope="module")
def flame_avatar():
    return synthetic_avatar(1)


@pytest.fixture(scope="module")
def open_avatar():
    return sparse_channel_avatar()


def assert_identical(a, b):
    ra, rb = a.rig, b.rig
    for key in RIG_ARRAYS:
        x, y = getattr(ra, key), getattr(rb, key)
        assert x.shape == y.shape, key
        np.testing.assert_array_equal(np.asarray(x, dtype=y.dtype), y, err_msg=key)
    assert ra.parents == rb.parents and ra.joint_names == rb.joint_names and ra.expr_names == rb.expr_names
    assert ra.source == rb.source
    # lossless is exact in float32
    assert (a.points.interp.astype(np.float32) != b.points.interp.astype(np.float32)).nnz == 0
    if a.points.faces is None:
        assert b.points.faces is None
    else:
        np.testing.assert_array_equal(a.points.faces, b.points.faces)
    for key in GAUSSIAN_ARRAYS:
        np.testing.assert_array_equal(getattr(a.gaussians, key).astype(np.float32), getattr(b.gaussians, key),
                                      err_msg=key)
    if ra.landmarks is None:
        assert rb.landmarks is None
    else:
        for key in ("ids", "faces", "bary"):
            np.testing.assert_array_equal(getattr(ra.landmarks, key), getattr(rb.landmarks, key))


@pytest.mark.parametrize("make", [tiny_avatar, general_interp_avatar, lambda: tiny_avatar(levels=2), adaptive_avatar,
                                  lambda: adaptive_avatar(levels=2)])
def test_lossless_round_trip_is_exact(make):
    a = make()
    f = decode_lam(encode_lam(a, lossless=True))
    assert f.header["encoding"] == "lossless"
    assert_identical(a, f.avatar)


def test_lossless_round_trip_flame_layout(flame_avatar):
    data = encode_lam(flame_avatar, lossless=True)
    f = decode_lam(data)
    assert_identical(flame_avatar, f.avatar)
    assert f.header["gaussians"]["point_faces"] == {"kind": "subdivision", "levels": 1}
    assert f.header["rig"]["kind"] == "flame"


def test_lossless_round_trip_sparse_many_channels(open_avatar):
    f = decode_lam(encode_lam(open_avatar, lossless=True))
    assert_identical(open_avatar, f.avatar)
    h = f.header
    assert h["gaussians"]["binding"] == "identity" and spec.BIND not in {c.tag for c in f.chunks}
    assert h["rig"]["kind"] == "open_head" and len(h["rig"]["expr_names"]) == 1406
    # each channel is stored with only the vertices it moves
    nnz = h["arrays"]["EXPR"]["index"]["shape"][0]
    assert nnz == int((open_avatar.rig.exprdirs != 0).any(1).sum())


def _check_quantised(a, f, expr_tol):
    b = f.avatar
    g0, g1 = a.gaussians, b.gaussians
    span = lambda x: np.ptp(x, axis=0)  # noqa: E731
    assert np.abs(g0.offsets - g1.offsets).max(0).max() <= span(g0.offsets).max() / 65535 * 0.51 + 1e-9
    assert np.abs(g0.colors - g1.colors).max() <= 1 / 255 * 0.51
    assert np.abs(g0.opacities - g1.opacities).max() <= max(np.ptp(g0.opacities), 1e-9) / 255 * 0.51
    # each scale is the table entry nearest to it in log space (the table holds at most 256 entries)
    table = np.log(np.unique(g1.scales).astype(np.float64))
    assert len(table) <= 256
    l0, l1 = np.log(g0.scales.astype(np.float64)), np.log(g1.scales.astype(np.float64))
    nearest = np.abs(l0[..., None] - table).min(-1)
    assert (np.abs(l1 - l0) <= nearest + 1e-6).all()
    assert np.abs(l1 - l0).max() < 0.05
    dot = np.abs((g0.rotations * g1.rotations).sum(1)) / np.linalg.norm(g1.rotations, axis=1)
    assert np.degrees(2 * np.arccos(np.clip(dot, 0, 1))).max() < 0.3
    r0, r1 = a.rig, b.rig
    assert np.abs(r0.vertices - r1.vertices).max() <= np.ptp(r0.vertices, 0).max() / 65535 * 0.51 + 1e-7
    np.testing.assert_array_equal(r0.faces, r1.faces)
    np.testing.assert_array_equal(r0.joints, r1.joints)
    np.testing.assert_array_equal(r0.joint_exprdirs, r1.joint_exprdirs)
    assert np.abs(r0.lbs_weights - r1.lbs_weights).max() < 1e-4
    np.testing.assert_allclose(r1.lbs_weights.sum(1), 1.0, atol=1e-6)
    for key in ("exprdirs", "posedirs"):
        x, y = getattr(r0, key), getattr(r1, key)
        peak = np.abs(x).max((0, 1))  # per channel
        assert (np.abs(x - y).max((0, 1)) <= peak / 127 * 0.51 + 1e-9).all(), key
        assert ((y != 0) <= (x != 0)).all(), f"{key}: quantisation moved a vertex the basis does not"
    assert abs(a.points.interp - b.points.interp).max() < 1e-4 if expr_tol else True


def test_quantised_flame_layout_is_small_and_close(flame_avatar):
    data = encode_lam(flame_avatar)
    assert len(data) <= 1_500_000
    f = decode_lam(data)
    _check_quantised(flame_avatar, f, True)
    # midpoint weights (1/2) are exact
    assert (flame_avatar.points.interp != f.avatar.points.interp).nnz == 0
    e = posed_errors(flame_avatar, f.avatar, exercise_sequence(flame_avatar.rig.expr_names))
    assert e["centre_rms_m"].max() < 1e-4 and e["centre_max_m"].max() < 5e-4
    assert e["rotation_max_deg"].max() < 0.3


def test_quantised_sparse_many_channels(open_avatar):
    data = encode_lam(open_avatar)
    f = decode_lam(data)
    _check_quantised(open_avatar, f, True)
    e = posed_errors(open_avatar, f.avatar, exercise_sequence(open_avatar.rig.expr_names, frames=6))
    assert e["centre_rms_m"].max() < 1e-4


def test_quantised_general_interp_keeps_rows_normalised():
    a = general_interp_avatar()
    f = decode_lam(encode_lam(a))
    interp = f.avatar.points.interp
    np.testing.assert_allclose(np.asarray(interp.sum(1)).ravel(), 1.0, atol=1e-6)
    assert abs(interp - a.points.interp).max() <= 1 / 2 ** 15
    assert f.avatar.points.faces is None


def test_point_faces_that_are_not_a_subdivision_are_stored():
    a = tiny_avatar()
    from lam_core.gaussians import GaussianAvatar
    from lam_core.rig import RigPoints
    faces = a.points.faces[::-1].copy()
    b = GaussianAvatar(RigPoints(a.rig, a.points.interp, faces), a.gaussians)
    f = decode_lam(encode_lam(b))
    assert f.header["gaussians"]["point_faces"] == {"kind": "chunk"}
    np.testing.assert_array_equal(f.avatar.points.faces, faces)


def test_points_subdivided_where_they_say_store_no_faces():
    """Points left coarse in part (the open head's back) are the base vertices then the midpoints of the edges
    subdivided: the binding alone gives their triangles, so none are stored (``adaptive``), quantised too."""
    a = adaptive_avatar()
    assert tiny_avatar().n > a.n > a.rig.n_vertices
    data = encode_lam(a)
    f = decode_lam(data)
    assert f.header["gaussians"]["point_faces"] == {"kind": "adaptive"}
    assert "pfac" not in {c.tag for c in f.chunks}
    np.testing.assert_array_equal(f.avatar.points.faces, a.points.faces)
    # twice subdivided, the points are no longer base vertices and midpoints: their faces are stored
    b = adaptive_avatar(levels=2)
    assert decode_lam(encode_lam(b)).header["gaussians"]["point_faces"] == {"kind": "chunk"}


def test_an_adaptive_claim_the_binding_does_not_bear_out_is_refused():
    """A file that says 'adaptive' but binds a point to anything but a base vertex or an edge's midpoint (or
    lists the midpoints out of edge order) is refused with a format error, never a crash."""
    from lam_core.gaussians import GaussianAvatar
    from lam_core.rig import RigPoints

    a = adaptive_avatar()
    data = encode_lam(a, lossless=True)
    swapped = a.points.interp.tocsr()[np.r_[np.arange(a.rig.n_vertices), np.arange(a.n - 1, a.rig.n_vertices - 1, -1)]]
    b = GaussianAvatar(RigPoints(a.rig, swapped, None), a.gaussians)
    raw = encode_lam(b, lossless=True)   # written with kind "none": claim "adaptive" in its header
    assert decode_lam(raw).header["gaussians"]["point_faces"] == {"kind": "none"}
    header, chunks = split(raw)
    header["gaussians"]["point_faces"] = {"kind": "adaptive"}
    forged = frame(header, chunks)
    with pytest.raises(LamFileError, match="edge midpoints in edge order"):
        decode_lam(forged)
    assert decode_lam(data).avatar.n == a.n


def test_metadata_thumbnail_and_atomic_write(tmp_path):
    a = tiny_avatar()
    path = tmp_path / "a.lam"
    n = write_lam(path, a, thumbnail=PNG_1x1, thumbnail_mime="image/png", meta={"photo": "astronaut.png", "n": 1})
    assert path.stat().st_size == n
    assert [p.name for p in tmp_path.iterdir()] == ["a.lam"]
    f = read_lam(path)
    assert f.thumbnail == PNG_1x1 and f.thumbnail_mime == "image/png"
    assert f.meta == {"photo": "astronaut.png", "n": 1}
    assert f.version == (spec.VERSION_MAJOR, spec.VERSION_MINOR)
    # a failed write leaves the old file in place and no temporary behind
    with pytest.raises(LamFileError):
        write_lam(path, a, thumbnail=b"not a png", thumbnail_mime="image/png")
    assert path.read_bytes()[:8] == spec.MAGIC and len(list(tmp_path.iterdir())) == 1


def test_writer_refuses_bad_input():
    a = tiny_avatar()
    with pytest.raises(LamFileError, match="thumbnail type"):
        encode_lam(a, thumbnail=PNG_1x1, thumbnail_mime="image/gif")
    with pytest.raises(LamFileError, match="metadata or a name is not JSON"):
        encode_lam(a, meta={"x": object()})
    with pytest.raises(LamFileError, match="metadata or a name is not JSON"):
        encode_lam(a, meta={"x": float("nan")})
    from dataclasses import replace
    bad = replace(a.rig, expr_names=("expr_00",) * a.rig.n_expr)
    from lam_core.gaussians import GaussianAvatar
    from lam_core.rig import RigPoints
    with pytest.raises(LamFileError, match="repeat"):
        encode_lam(GaussianAvatar(RigPoints(bad, a.points.interp, a.points.faces), a.gaussians))
    with pytest.raises(ValueError):
        Quantisation(basis_bits=20)


def test_unknown_ancillary_chunk_is_skipped_and_newer_minor_read():
    data = encode_lam(tiny_avatar())
    header, chunks = split(data)
    chunks.insert(2, ["zzzz", 0, b"from the future"])
    chunks.append(["xtra", 0x80, b"unknown flags on an ancillary chunk are skipped"])
    header["arrays"]["zzzz"] = {"whatever": "a newer reader knows"}
    f = decode_lam(frame(header, chunks, version=(1, 9)))
    assert f.version == (1, 9)
    assert [c.tag for c in f.chunks if not c.known] == ["zzzz", "xtra"]
    assert_identical(decode_lam(data).avatar, f.avatar)


def test_unknown_critical_chunk_and_newer_major_are_refused():
    header, chunks = split(encode_lam(tiny_avatar()))
    with pytest.raises(LamFileError, match="critical and unknown"):
        decode_lam(frame(header, chunks + [["ZZZZ", 0, b"must understand"]]))
    with pytest.raises(LamFileError, match="version 2.0 is not supported"):
        decode_lam(frame(header, chunks, version=(2, 0)))


def test_inspect_cli(tmp_path, capsys):
    path = tmp_path / "a.lam"
    write_lam(path, tiny_avatar(), meta={"k": "v"})
    assert export_main(["--inspect", str(path)]) == 0
    out = capsys.readouterr().out
    for tag in ("GAUS", "BIND", "MESH", "JOIN", "SKIN", "EXPR", "POSE", "lmks"):
        assert f"\n  {tag} " in out
    assert "the file is valid" in out and "quantised" in out
    assert export_main(["--inspect", str(path), "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["header"]["gaussians"]["count"] == 162
    assert sum(c["stored_bytes"] for c in js["chunks"]) < js["file_bytes"]
    assert "arrays" not in js["header"] and js["chunks"][0]["arrays"]["offset"]["dtype"] == "u16"


def test_inspect_cli_errors_are_one_line(tmp_path, capsys):
    from exporter.cli import run
    bad = tmp_path / "bad.lam"
    bad.write_bytes(encode_lam(tiny_avatar())[:-100])
    for argv in (["--inspect", str(bad)], ["--inspect", str(tmp_path / "missing.lam")], ["--inspect", str(tmp_path)]):
        assert run(export_main, argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        export_main(["photo.jpg"])
    assert exc.value.code == 2
