"""Writing the official LAM zip, reading it back, lam-convert, and hostile zips (no sample data needed)."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from exporter.cli import run
from exporter.cli.convert import main as convert_main
from exporter.official_zip import OfficialZipError, read_official_zip
from exporter.official_zip.writer import OFFICIAL_HEAD_JOINT, write_official_zip
from lam_core.params import FrameParams
from lam_core.synthetic import synthetic_avatar

from .official_zip_support import arkit_avatar, edit_glb, ply_rows, ply_with, write_zip, zip_members


@pytest.fixture(scope="module")
def avatar():
    return arkit_avatar(levels=1)


@pytest.fixture(scope="module")
def written(avatar, tmp_path_factory):
    path = tmp_path_factory.mktemp("oz") / "synth.zip"
    size, notes = write_official_zip(path, avatar, name="synth")
    assert size == path.stat().st_size
    return path, notes


def test_layout_the_official_renderer_reads(written):
    path, notes = written
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist()]
    assert names[0] == "synth/" and [i for i in names if i.endswith("/")] == ["synth/"]  # one folder entry
    assert {"synth/skin.glb", "synth/offset.ply", "synth/animation.glb", "synth/vertex_order.json"} <= set(names)
    assert any(n.startswith("moved by") for n in notes)  # the synthetic head sits at the origin


def test_written_zip_reads_back_as_the_same_avatar(avatar, written):
    path, _ = written
    back = read_official_zip(path)
    assert back.name == "synth" and back.n == avatar.n
    assert back.expr_names == avatar.rig.expr_names
    shift = OFFICIAL_HEAD_JOINT - avatar.rig.joints[1]
    assert np.abs(back.means - shift - avatar.canonical_means()).max() < 1e-5
    for key in ("colors", "scales", "rotations"):
        assert np.allclose(getattr(back, key), getattr(avatar.gaussians, key), rtol=1e-5, atol=1e-6), key
    assert np.allclose(back.opacities, avatar.gaussians.opacities, atol=1e-6)
    # animated: expressions and a global turn (which every skinning weight shares: the written skin keeps the
    # 4 largest weights per vertex)
    k = avatar.rig.n_expr
    g = torch.Generator().manual_seed(0)
    p = FrameParams(torch.rand(3, k, generator=g), torch.zeros(3, 5, 3), torch.zeros(3, 3))
    p.pose[:, 0] = torch.tensor([[0.2, -0.3, 0.1], [0.0, 0.4, 0.0], [-0.1, 0.0, 0.2]])
    a = avatar.animate(p).means.numpy()
    b = back.to_avatar().animate(p).means.numpy() - shift
    assert np.abs(a - b).max() < 1e-5
    assert sorted(back.vertex_order.tolist()) == list(range(avatar.n))


def test_flame_channels_cannot_be_written(tmp_path):
    out = tmp_path / "flame.zip"
    with pytest.raises(OfficialZipError, match="no ARKit expression channels"):
        write_official_zip(out, synthetic_avatar(levels=1), name="flame")
    assert not out.exists()


def test_convert_cli_between_all_kinds(avatar, tmp_path, capsys):
    from exporter.lamfile import read_lam, write_lam

    lam = tmp_path / "a.lam"
    write_lam(lam, avatar, lossless=True)
    assert run(convert_main, [str(lam), "-o", str(tmp_path / "a.zip")]) == 0
    assert run(convert_main, [str(tmp_path / "a.zip"), "-o", str(tmp_path / "b.lam")]) == 0
    assert run(convert_main, [str(tmp_path / "a.zip"), "-o", str(tmp_path / "b.ply")]) == 0
    err = capsys.readouterr().err
    assert "wrote" in err and "b.lam" in err
    b = read_lam(tmp_path / "b.lam").avatar
    assert b.n == avatar.n and b.rig.expr_names == avatar.rig.expr_names
    from exporter.ply import read_ply

    ply = read_ply(tmp_path / "b.ply")
    shift = OFFICIAL_HEAD_JOINT - avatar.rig.joints[1]
    assert np.abs(ply.means[0].numpy() - shift - avatar.canonical_means()).max() < 1e-5


@pytest.mark.parametrize("argv, message", [
    (["missing.zip", "-o", "x.lam"], "not found"),
    (["a.txt", "-o", "x.lam"], "unknown extension"),
    (["a.zip", "-o", "x.obj"], "unknown extension"),
    (["a.lam", "-o", "x.lam"], "already a .lam"),
])
def test_convert_cli_usage_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert run(convert_main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "x.lam").exists()


# ---------------------------------------------------------------------------------------------- hostile zips

def _hostile(tmp_path, written, change=None, attrs=None, extra=None):
    members = {k.replace("synth/", "av/"): v for k, v in zip_members(written[0]).items()}
    if change:
        change(members)
    if extra:
        members.update(extra)
    path = tmp_path / "bad.zip"
    write_zip(path, members, attrs)
    return path


def _set(name, fn):
    def change(m):
        m[name] = fn(m[name])
    return change


HOSTILE = {
    "dotdot": (dict(extra={"av/../../evil.txt": b"x"}), "unsafe name"),
    "absolute": (dict(extra={"/etc/evil": b"x"}), "unsafe name"),
    "symlink": (dict(extra={"av/link": b"/etc/passwd"}, attrs={"av/link": (0o120777 << 16)}), "symbolic link"),
    "bomb": (dict(extra={"av/big.bin": bytes(20 << 20)}), "zip bomb"),
    "missing": (dict(change=lambda m: m.pop("av/offset.ply")), "missing member offset.ply"),
    "count": (dict(change=_set("av/offset.ply", lambda d: ply_rows(d, 1000))), "has 1000 rows but skin.glb has"),
    "nan": (dict(change=_set("av/offset.ply", lambda d: ply_with(d, 7, 10, float("nan")))), "NaN or infinite"),
    "inf": (dict(change=_set("av/offset.ply", lambda d: ply_with(d, 3, 0, float("inf")))), "NaN or infinite"),
    "accessor": (dict(change=_set("av/skin.glb", lambda d: edit_glb(
        d, lambda doc: doc["accessors"][0].update(count=doc["accessors"][0]["count"] * 50)))),
        "run past the end"),
    "view": (dict(change=_set("av/skin.glb", lambda d: edit_glb(
        d, lambda doc: doc["bufferViews"][0].update(byteOffset=1 << 30)))), "outside the"),
    "uri": (dict(change=_set("av/skin.glb", lambda d: edit_glb(
        d, lambda doc: doc["buffers"][0].update(uri="file:///etc/passwd")))), "external uri"),
    "not_glb": (dict(change=_set("av/skin.glb", lambda d: b"nope" + d[4:])), "not a binary glTF"),
    "order": (dict(change=_set("av/vertex_order.json", lambda d: b"[0, 0, 1]")), "vertex indices"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zip_one_line_error_nothing_written(tmp_path, written, capsys, case):
    kwargs, message = HOSTILE[case]
    bad = _hostile(tmp_path, written, **kwargs)
    out = tmp_path / "out.lam"
    assert run(convert_main, [str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(OfficialZipError, match="not a readable zip"):
        read_official_zip(p)


def test_cli_runs_as_a_console_script(tmp_path):
    """No traceback from the installed entry point on bad input."""
    r = subprocess.run([sys.executable, "-m", "exporter.cli.convert", str(tmp_path / "no.zip"), "-o",
                        str(tmp_path / "o.lam")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
