"""Reading MediaPipe's canonical face mesh out of the npm package, and the errors when it cannot be read."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lam_core.errors import LamError
from lam_core.open_head import assets
from lam_core.open_head import landmarks as L
from lam_core.open_head.assets import OpenHeadAssetError


@pytest.fixture(scope="module")
def package_dir():
    try:
        return assets.face_mesh_package_dir()
    except OpenHeadAssetError as exc:
        pytest.skip(str(exc))


def test_extracts_the_canonical_mesh_in_metres(package_dir):
    from mediapipe.modules.face_geometry.protos import geometry_pipeline_metadata_pb2 as pb

    mesh = assets.load_canonical_face_mesh()
    assert mesh.vertices.shape == (468, 3) and mesh.uvs.shape == (468, 2)
    assert mesh.faces.shape == (898, 3) and mesh.faces.min() == 0 and mesh.faces.max() == 467
    assert len(mesh.procrustes_ids) == 33 and len(mesh.procrustes_weights) == 33
    assert np.all(mesh.procrustes_weights > 0)
    # centimetres in the file, metres here
    raw = pb.GeometryPipelineMetadata()
    raw.ParseFromString(assets.read_packed_file(package_dir, assets.METADATA_NAME))
    vb = np.array(raw.canonical_mesh.vertex_buffer).reshape(468, 5)
    np.testing.assert_allclose(mesh.vertices, vb[:, :3] / 100.0)
    # a human face in FLAME's axes: nose tip in front, forehead above the chin, subject's left eye at +x
    v = mesh.vertices
    assert v[L.NOSE_TIP, 2] == pytest.approx(v[:, 2].max(), abs=0.002)
    assert 0.15 < v[L.FOREHEAD, 1] - v[L.CHIN, 1] < 0.2
    assert v[263, 0] > 0 > v[33, 0]


def test_file_table_is_read_not_hard_coded(package_dir):
    text = (package_dir / assets.LOADER_FILE).read_text()
    table = assets.packed_file_table(text, "loader")
    hit = [f for f in table if f["filename"].endswith(assets.METADATA_NAME)]
    assert len(hit) == 1 and 0 <= hit[0]["start"] < hit[0]["end"]


def _fake_package(tmp_path, entries, data=b"x" * 100):
    pkg = tmp_path / "node_modules" / "@mediapipe" / "face_mesh"
    pkg.mkdir(parents=True)
    (pkg / assets.DATA_FILE).write_bytes(data)
    (pkg / assets.LOADER_FILE).write_text(f"loadPackage({json.dumps({'files': entries})});")
    return pkg


def test_table_outside_the_data_file_is_refused(tmp_path):
    pkg = _fake_package(tmp_path, [{"filename": "/a/" + assets.METADATA_NAME, "start": 50, "end": 5000}])
    with pytest.raises(OpenHeadAssetError, match="outside"):
        assets.read_packed_file(pkg, assets.METADATA_NAME)


def test_garbage_protobuf_is_refused(tmp_path):
    pkg = _fake_package(tmp_path, [{"filename": "/a/" + assets.METADATA_NAME, "start": 0, "end": 100}],
                        data=b"\xff" * 100)
    with pytest.raises(OpenHeadAssetError):
        assets.parse_geometry_metadata(assets.read_packed_file(pkg, assets.METADATA_NAME), "x")


def test_missing_table_is_refused(tmp_path):
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / assets.LOADER_FILE).write_text("nothing here")
    (pkg / assets.DATA_FILE).write_bytes(b"")
    with pytest.raises(OpenHeadAssetError, match="table"):
        assets.read_packed_file(pkg, assets.METADATA_NAME)


def test_missing_node_modules_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(assets.NODE_MODULES_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(LamError, match="make setup"):
        assets.face_mesh_package_dir()
    from lam_core.open_head import load_open_head

    with pytest.raises(OpenHeadAssetError, match="@mediapipe/face_mesh"):
        load_open_head(cache_dir=tmp_path / "cache")


def test_cli_reports_missing_package_in_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", assets.NODE_MODULES_ENV: str(tmp_path / "nowhere"),
           "LAM_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "lam_core.open_head", "--info"], capture_output=True, text=True,
                       env=env, cwd=str(assets.repository_root()), timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error:") and "make setup" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_landmark_chains_match_mediapipe():
    from mediapipe.python.solutions import face_mesh_connections as c

    def edges(chain):
        return {frozenset(e) for e in zip(chain[:-1], chain[1:])}

    assert edges(L.EYE_R_UPPER) | edges(L.EYE_R_LOWER) == {frozenset(e) for e in c.FACEMESH_RIGHT_EYE}
    assert edges(L.EYE_L_UPPER) | edges(L.EYE_L_LOWER) == {frozenset(e) for e in c.FACEMESH_LEFT_EYE}
    lips = set().union(*(edges(x) for x in (L.LIPS_INNER_UPPER, L.LIPS_INNER_LOWER, L.LIPS_OUTER_UPPER,
                                             L.LIPS_OUTER_LOWER)))
    assert lips == {frozenset(e) for e in c.FACEMESH_LIPS}
    brows = set().union(*(edges(x) for x in L.BROW_R + L.BROW_L))
    assert brows == {frozenset(e) for e in c.FACEMESH_RIGHT_EYEBROW | c.FACEMESH_LEFT_EYEBROW}
    iris_l = {frozenset(e) for e in c.FACEMESH_LEFT_IRIS}
    assert iris_l == edges(L.IRIS_L[1:] + L.IRIS_L[1:2])
    assert {frozenset(e) for e in c.FACEMESH_RIGHT_IRIS} == edges(L.IRIS_R[1:] + L.IRIS_R[1:2])
