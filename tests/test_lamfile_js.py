"""The JavaScript reader (viewer_web/src/lam_reader.js) under Node decodes .lam files written by Python to the
same numbers, bit for bit, as the Python reader, and agrees with it on the format's constants."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import scipy.sparse as sp

from exporter.lamfile import decode_lam, encode_lam, spec
from lam_core.synthetic import synthetic_avatar
from tests.conftest import ROOT
from tests.lam_support import PNG_1x1, adaptive_avatar, general_interp_avatar, sparse_channel_avatar, tiny_avatar

DRIVER = ROOT / "tests" / "js" / "lam_reader_driver.mjs"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
TYPES = {"Float32Array": np.float32, "Uint32Array": np.uint32, "Int32Array": np.int32, "Uint8Array": np.uint8}


def node(*args: str, timeout: float = 120) -> str:
    r = subprocess.run([NODE, "--expose-gc", str(DRIVER), *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r.stdout


def js_decode(data: bytes, tmp_path, misaligned: bool = False) -> tuple[dict, dict]:
    path = tmp_path / "f.lam"
    path.write_bytes(data)
    out = tmp_path / "dump"
    out.mkdir()
    node("dump", str(path), str(out), *(["--misaligned"] if misaligned else []))
    manifest = json.loads((out / "manifest.json").read_text())
    arrays = {name: np.fromfile(out / f"{name}.bin", dtype=TYPES[m["type"]]) for name, m in manifest["arrays"].items()}
    for name, m in manifest["arrays"].items():
        assert len(arrays[name]) == m["length"], name
    return manifest, arrays


def same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{what}: {a.dtype} vs {b.dtype}"
    assert a.shape == b.shape and np.array_equal(a, b), f"{what}: Python and JavaScript decode differently"


def dense(ptr, index, delta, v, ch):
    out = np.zeros((v, 3, ch), np.float32)
    channel = np.repeat(np.arange(ch), np.diff(ptr.astype(np.int64)))
    out[index.astype(np.int64), :, channel] = delta.reshape(-1, 3)
    return out


def rows(index, weight, n, m, k):
    return sp.csr_matrix((weight.astype(np.float64), (np.repeat(np.arange(n), k), index.astype(np.int64))), shape=(n, m))


def compare(data: bytes, tmp_path, misaligned: bool = False) -> None:
    f = decode_lam(data)
    manifest, js = js_decode(data, tmp_path, misaligned)
    a = f.avatar
    rig, g = a.rig, a.gaussians
    n, v, j = a.n, rig.n_vertices, rig.n_joints
    assert manifest["header"] == f.header and manifest["meta"] == f.meta
    assert tuple(manifest["version"]) == f.version
    assert [c["tag"] for c in manifest["chunks"]] == [c.tag for c in f.chunks]
    assert [c["storedLength"] for c in manifest["chunks"]] == [c.stored_len for c in f.chunks]
    for key in ("offsets", "colors", "opacities", "scales", "rotations"):
        same(getattr(g, key).ravel(), js[f"gaussians.{key}"], key)
    same(rig.vertices.ravel(), js["mesh.vertices"], "vertices")
    same(rig.faces.ravel().astype(np.uint32), js["mesh.faces"], "faces")
    same(np.array(rig.parents, np.int32), js["joints.parents"], "parents")
    same(rig.joints.ravel(), js["joints.positions"], "joints")
    same(rig.joint_exprdirs.ravel(), js["joints.exprdirs"], "joint_exprdirs")
    assert tuple(manifest["names"]["joints"]) == rig.joint_names and tuple(manifest["names"]["expr"]) == rig.expr_names
    lbs = rows(js["skin.index"], js["skin.weight"], v, j, manifest["skinK"]).toarray().astype(np.float32)
    same(rig.lbs_weights, lbs, "lbs weights")
    interp = rows(js["binding.index"], js["binding.weight"], n, v, manifest["bindK"])
    interp.eliminate_zeros()
    assert (interp != a.points.interp).nnz == 0, "interpolation map differs"
    same(rig.exprdirs, dense(js["expressions.ptr"], js["expressions.index"], js["expressions.delta"], v, rig.n_expr),
         "expression bases")
    same(rig.posedirs, dense(js["pose.ptr"], js["pose.index"], js["pose.delta"], v, (j - 1) * 9), "pose correctives")
    # quantised bases stay quantised in the JS reader's output (their stored integers, a scale per channel)
    stored = {t: f.header["arrays"][t]["delta"]["dtype"] for t in ("EXPR", "POSE")}
    want = {"f32": "Float32Array", "i8": "Int8Array", "i16": "Int16Array"}
    assert manifest["deltaTypes"] == {"expr": want[stored["EXPR"]], "pose": want[stored["POSE"]]}
    if rig.landmarks is not None:
        same(rig.landmarks.ids.astype(np.uint32), js["landmarks.ids"], "landmark ids")
        same(rig.landmarks.faces.astype(np.uint32), js["landmarks.faces"], "landmark faces")
        same(rig.landmarks.bary.ravel(), js["landmarks.bary"], "landmark bary")
    if f.thumbnail is not None:
        assert js["thumbnail"].tobytes() == f.thumbnail and manifest["thumbnailMime"] == f.thumbnail_mime
    kind = manifest["pointFacesKind"]
    assert kind == f.header["gaussians"]["point_faces"]["kind"]
    if kind in ("base", "chunk"):
        same(a.points.faces.ravel().astype(np.uint32), js["pointFaces"], "point faces")


@pytest.fixture(scope="module")
def flame_avatar():
    return synthetic_avatar(1)


@pytest.mark.parametrize("lossless", [False, True], ids=["quantised", "lossless"])
def test_flame_layout_same_numbers(flame_avatar, lossless, tmp_path):
    data = encode_lam(flame_avatar, lossless=lossless)
    if not lossless:  # the quantised file stores integer bases, so the integer path is what runs here
        assert decode_lam(data).header["arrays"]["EXPR"]["delta"]["dtype"] in ("i8", "i16")
    compare(data, tmp_path)


@pytest.mark.parametrize("lossless", [False, True], ids=["quantised", "lossless"])
def test_sparse_many_channels_same_numbers(lossless, tmp_path):
    data = encode_lam(sparse_channel_avatar(), lossless=lossless, thumbnail=PNG_1x1, thumbnail_mime="image/png",
                      meta={"source photo": "astronaut.png", "ünïcode": [1, 2.5, None]})
    compare(data, tmp_path)


@pytest.mark.parametrize("make", [general_interp_avatar, lambda: tiny_avatar(levels=2), adaptive_avatar],
                         ids=["general", "levels2", "adaptive"])
def test_other_bindings_same_numbers(make, tmp_path):
    compare(encode_lam(make()), tmp_path)


@pytest.mark.parametrize("misaligned", [False, True], ids=["views", "copies"])
@pytest.mark.parametrize("lossless", [False, True], ids=["quantised", "lossless"])
def test_uncompressed_file_same_numbers(tmp_path, lossless, misaligned):
    """Uncompressed chunks are viewed in place when the file's buffer is aligned, copied when not."""
    compare(encode_lam(tiny_avatar(), compress=False, lossless=lossless), tmp_path, misaligned)


def test_constants_agree():
    js = json.loads(node("limits"))
    assert bytes(js["MAGIC"]) == spec.MAGIC
    assert (js["VERSION_MAJOR"], js["VERSION_MINOR"]) == (spec.VERSION_MAJOR, spec.VERSION_MINOR)
    for key, value in js["LIMITS"].items():
        assert getattr(spec, key) == value, key
    py_layout = {tag: {name: [sorted(f"{d} {e}" for d, e in allowed), req] for name, (allowed, req) in arrays.items()}
                 for tag, arrays in spec.LAYOUT.items()}
    assert js["LAYOUT"] == py_layout
