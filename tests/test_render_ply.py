"""Standard 3DGS PLY files: round trip, what other tools write, and corrupt files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from exporter.avatar_io import AvatarFileError, load_avatar
from exporter.ply import REQUIRED, PlyFileError, read_ply, write_ply
from lam_core.gaussians import SH_C0, PosedGaussians


def gaussians(n=64, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, 4))
    return dict(means=rng.normal(size=(n, 3)), quats=q / np.linalg.norm(q, axis=1, keepdims=True),
                scales=np.exp(rng.uniform(-7, -2, (n, 3))), colors=rng.uniform(size=(n, 3)),
                opacities=rng.uniform(0.01, 0.99, n))


def inria_rows(g, extra_rest=True, dtype="<f4"):
    """Rows the way the INRIA 3DGS code writes them (with 45 f_rest coefficients)."""
    n = len(g["means"])
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(45)] if extra_rest else []
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    rows = np.zeros(n, dtype=[(k, dtype) for k in names])
    for i, k in enumerate("xyz"):
        rows[k] = g["means"][:, i]
    for i in range(3):
        rows[f"f_dc_{i}"] = (g["colors"][:, i] - 0.5) / SH_C0
        rows[f"scale_{i}"] = np.log(g["scales"][:, i])
    for i in range(4):
        rows[f"rot_{i}"] = g["quats"][:, i] * 2.0   # not normalised, as training leaves them
    rows["opacity"] = np.log(g["opacities"] / (1 - g["opacities"]))
    return rows


def check_same(posed: PosedGaussians, g, atol=1e-5):
    assert isinstance(posed, PosedGaussians) and posed.means.shape == (1, len(g["means"]), 3)
    np.testing.assert_allclose(posed.means[0].numpy(), g["means"], atol=atol)
    np.testing.assert_allclose(posed.quats[0].numpy(), g["quats"], atol=atol)
    np.testing.assert_allclose(posed.scales.numpy(), g["scales"], rtol=1e-5)
    np.testing.assert_allclose(posed.colors.numpy(), g["colors"], atol=atol)
    np.testing.assert_allclose(posed.opacities.numpy(), g["opacities"], atol=atol)
    assert all(t.dtype == torch.float32 for t in (posed.means, posed.quats, posed.scales))


def test_round_trip(tmp_path):
    g = gaussians()
    path = tmp_path / "a.ply"
    write_ply(path, **g)
    check_same(read_ply(path), g)
    ply = PlyData.read(str(path))
    assert [p.name for p in ply["vertex"].properties][:6] == ["x", "y", "z", "nx", "ny", "nz"]
    assert ply["vertex"].count == 64 and not ply.text
    check_same(load_avatar(path), g)
    # torch inputs too, and no temporary files left beside it
    write_ply(path, **{k: torch.tensor(v) for k, v in g.items()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ply"]


def test_reads_inria_layout_ascii_and_doubles(tmp_path):
    g = gaussians(20, seed=1)
    for text, dtype in ((False, "<f4"), (True, "<f4"), (False, "<f8")):
        path = tmp_path / f"inria_{text}_{dtype[-1]}.ply"
        PlyData([PlyElement.describe(inria_rows(g, dtype=dtype), "vertex")], text=text).write(str(path))
        check_same(read_ply(path), g, atol=1e-4 if text else 1e-5)


def test_write_clamps_extremes(tmp_path):
    g = gaussians(3)
    g["opacities"] = np.array([0.0, 1.0, 0.5])
    g["scales"][0] = 0.0
    write_ply(tmp_path / "x.ply", **g)
    back = read_ply(tmp_path / "x.ply")
    assert back.opacities[0] < 1e-6 and back.opacities[1] > 1 - 1e-6
    assert back.scales[0].max() < 1e-11
    with pytest.raises(ValueError, match="quaternion"):
        write_ply(tmp_path / "y.ply", **dict(g, quats=np.zeros((3, 4))))
    with pytest.raises(ValueError, match="shape"):
        write_ply(tmp_path / "y.ply", **dict(g, colors=np.zeros((2, 3))))
    assert not (tmp_path / "y.ply").exists()


def write_raw(path, header: str, body: bytes = b""):
    path.write_bytes(header.encode() + body)
    return path


def props(names=REQUIRED, kind="float"):
    return "".join(f"property {kind} {n}\n" for n in names)


@pytest.mark.parametrize("content,match", [
    (b"", "does not start with 'ply'"),
    (b"solid cube\nfacet\n", "does not start with 'ply'"),
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 3\n", "end_header"),
    (b"ply\nformat pdf 1.0\nelement vertex 1\nend_header\n", "unsupported PLY format"),
    (b"ply\nelement vertex 1\nend_header\n", "no format"),
    (b"ply\nformat ascii 1.0\nelement vertex x\nend_header\n", "bad PLY element"),
    (b"ply\nformat ascii 1.0\nproperty float x\nend_header\n", "property before any element"),
    (b"ply\nformat ascii 1.0\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n3 0 1 2\n",
     "no 'vertex' element"),
])
def test_corrupt_headers(tmp_path, content, match):
    path = tmp_path / "bad.ply"
    path.write_bytes(content)
    with pytest.raises(PlyFileError, match=match):
        read_ply(path)


def test_corrupt_bodies(tmp_path):
    head = "ply\nformat binary_little_endian 1.0\nelement vertex {n}\n" + props() + "end_header\n"
    row = np.zeros(len(REQUIRED), "<f4")
    row[REQUIRED.index("rot_0")] = 1.0
    # a huge claimed count is refused from the header, before anything is allocated
    with pytest.raises(PlyFileError, match="more than"):
        read_ply(write_raw(tmp_path / "a.ply", head.format(n=10 ** 12), row.tobytes()))
    with pytest.raises(PlyFileError, match="truncated"):
        read_ply(write_raw(tmp_path / "b.ply", head.format(n=1000), row.tobytes() * 10))
    with pytest.raises(PlyFileError, match="no Gaussians"):
        read_ply(write_raw(tmp_path / "c.ply", head.format(n=0)))
    with pytest.raises(PlyFileError, match="too short"):
        read_ply(write_raw(tmp_path / "d.ply", "ply\nformat ascii 1.0\nelement vertex 100000\n" + props()
                           + "end_header\n", b"0 " * 14))
    nan = row.copy()
    nan[REQUIRED.index("opacity")] = np.nan
    with pytest.raises(PlyFileError, match="opacity is NaN or infinite in row 1"):
        read_ply(write_raw(tmp_path / "e.ply", head.format(n=2), row.tobytes() + nan.tobytes()))
    zero_q = np.zeros_like(row)
    with pytest.raises(PlyFileError, match="quaternion in row 0 is zero"):
        read_ply(write_raw(tmp_path / "f.ply", head.format(n=1), zero_q.tobytes()))
    huge = row.copy()
    huge[REQUIRED.index("scale_1")] = 1000.0
    with pytest.raises(PlyFileError, match="too large"):
        read_ply(write_raw(tmp_path / "g.ply", head.format(n=1), huge.tobytes()))
    missing = "ply\nformat binary_little_endian 1.0\nelement vertex 1\n" + props(REQUIRED[:-2]) + "end_header\n"
    with pytest.raises(PlyFileError, match="rot_2, rot_3 are missing"):
        read_ply(write_raw(tmp_path / "h.ply", missing, row[:-2].tobytes()))
    garbage = "ply\nformat ascii 1.0\nelement vertex 2\n" + props() + "end_header\n"
    with pytest.raises(PlyFileError, match="corrupt PLY data"):
        read_ply(write_raw(tmp_path / "i.ply", garbage, b"1 2 3 four five\n" * 8))


def test_load_avatar_dispatch(tmp_path):
    with pytest.raises(AvatarFileError, match="not found"):
        load_avatar(tmp_path / "nope.ply")
    with pytest.raises(AvatarFileError, match="is a directory"):
        load_avatar(tmp_path)
    (tmp_path / "a.obj").write_text("v 0 0 0\n")
    with pytest.raises(AvatarFileError, match="unknown avatar file type '.obj'"):
        load_avatar(tmp_path / "a.obj")
    (tmp_path / "a.lam").write_bytes(b"LAM")
    with pytest.raises(AvatarFileError, match="not supported yet"):
        load_avatar(tmp_path / "a.lam")
