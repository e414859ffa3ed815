"""`lam-export PHOTO -o OUT.lam`: the whole pipeline through the command line, and every bad input ending in
one line, a non-zero exit and no output file."""

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from exporter.cli.export import main
from exporter.lamfile import read_lam

CMD = [sys.executable, "-m", "exporter.cli.export"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from skimage import data

    d = tmp_path_factory.mktemp("photos")
    astro = data.astronaut()
    Image.fromarray(astro).save(d / "astronaut.jpg", quality=92)
    Image.fromarray(data.chelsea()).save(d / "cat.jpg")
    Image.fromarray(np.full((300, 300, 3), 128, np.uint8)).save(d / "grey.png")
    crop = astro[20:300, 100:380]
    two = np.full((300, 600, 3), 200, np.uint8)
    two[10:290, 10:290] = crop
    two[50:250, 350:550] = np.asarray(Image.fromarray(crop).resize((200, 200)))
    Image.fromarray(two).save(d / "two.png")
    buf = io.BytesIO()
    Image.fromarray(astro).save(buf, format="JPEG")
    (d / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (d / "notimage.jpg").write_text("this is a text file")
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(d / "tiny.png")
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))  # noqa: E731
    (d / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    ihdr = struct.pack(">IIBBBBB", 17000, 2000, 8, 2, 0, 0, 0)   # 34 MP: allowed, but a side past 16384
    (d / "panorama.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return d


def run(args, cwd):
    return subprocess.run(CMD + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_export_photo(photos, tmp_path):
    out, ply, prev = tmp_path / "a.lam", tmp_path / "a.ply", tmp_path / "a.png"
    r = run([photos / "astronaut.jpg", "-o", out, "--ply", ply, "--preview", prev, "-v"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "fit" in r.stderr  # -v prints the stages
    f = read_lam(out)
    assert 19_000 < f.avatar.n < 26_000 and f.thumbnail_mime == "image/jpeg"  # ~16K on the head, ~6K on the bust
    assert f.photo is not None and (f.photo.camera.width, f.photo.camera.height) == (512, 512)
    assert f.meta["source"] == "astronaut.jpg" and out.stat().st_size < 1_500_000
    from exporter.ply import read_ply

    assert read_ply(ply).means.shape[1] == f.avatar.n
    sheet = Image.open(prev)
    assert sheet.size == (8 * 256, 256)  # photo, front, yaw -45/+45, above, below, behind, jaw open
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.lam", "a.ply", "a.png"]  # no temp files


def test_a_small_face_in_a_landscape_photo_is_exported(photos, tmp_path):
    """A 150-px face in a 2000x1500 photo (the full-range detector finds it)."""
    astro = np.asarray(Image.open(photos / "astronaut.jpg").convert("RGB"))
    side = 700  # the astronaut's face is ~108 px tall at 512: ~150 px here
    img = np.full((1500, 2000, 3), (90, 110, 130), np.uint8)
    img[700:700 + side, 1200:1200 + side] = np.asarray(Image.fromarray(astro).resize((side, side)))
    Image.fromarray(img).save(tmp_path / "wide.jpg", quality=92)
    r = run([tmp_path / "wide.jpg", "-o", tmp_path / "wide.lam"], tmp_path)
    assert r.returncode == 0, r.stderr
    f = read_lam(tmp_path / "wide.lam")
    assert (f.photo.camera.width, f.photo.camera.height) == (2000, 1500)


def test_a_large_photo_is_reconstructed_on_a_working_copy_and_recorded_at_its_own_size(photos, tmp_path):
    """The astronaut at 4x (2048x2048, a 432-px face, as a phone photo's): reconstructed on a copy scaled so
    the face is WORK_FACE_PX tall (a 12-MP portrait took 70 s and 16 GB at its own size, 7 s and 1 GB so), and
    its camera recorded in the photo's own pixels: 4x the 512-px photo's focal length and centre."""
    astro = Image.open(photos / "astronaut.jpg").convert("RGB")
    astro.resize((2048, 2048), Image.Resampling.LANCZOS).save(tmp_path / "big.jpg", quality=92)
    r = run([tmp_path / "big.jpg", "-o", tmp_path / "big.lam"], tmp_path)
    assert r.returncode == 0, r.stderr
    r = run([photos / "astronaut.jpg", "-o", tmp_path / "small.lam"], tmp_path)
    assert r.returncode == 0, r.stderr
    big, small = read_lam(tmp_path / "big.lam"), read_lam(tmp_path / "small.lam")
    cb, cs = big.photo.camera, small.photo.camera
    assert (cb.width, cb.height) == (2048, 2048)
    assert cb.fx == pytest.approx(4 * cs.fx, rel=0.05) and cb.fy == pytest.approx(4 * cs.fy, rel=0.05)
    assert cb.cx == pytest.approx(4 * cs.cx, abs=8) and cb.cy == pytest.approx(4 * cs.cy, abs=8)
    np.testing.assert_allclose(cb.world_to_camera[:3, :3], cs.world_to_camera[:3, :3], atol=0.03)
    assert abs(big.avatar.n - small.avatar.n) < 0.1 * small.avatar.n


def test_two_faces_take_the_largest_and_say_so(photos, tmp_path):
    r = run([photos / "two.png", "-o", tmp_path / "two.lam"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 faces in two.png: using the largest" in r.stderr


@pytest.mark.parametrize("name,expect", [
    ("notimage.jpg", "not an image"),
    ("truncated.jpg", "corrupt or truncated"),
    ("tiny.png", "too small"),
    ("huge.png", "more than"),
    ("panorama.png", "more than the 16384 allowed on a side"),
    ("grey.png", "no face found in grey.png"),
    ("cat.jpg", "no face found in cat.jpg"),
    ("missing.jpg", "photo not found"),
])
def test_bad_photos(photos, tmp_path, name, expect):
    out = tmp_path / "out.lam"
    r = run([photos / name, "-o", out], tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,expect", [
    (["-o", "/nonexistent-dir/a.lam"], "does not exist"),
    (["-o", "/proc/a.lam"], "cannot write /proc/a.lam"),                 # a directory no file can be made in
    (["-o", "{tmp}/a.lam", "--ply", "/proc/a.ply"], "cannot write /proc/a.ply"),
    (["-o", "{photos}/grey.png/a.lam"], "grey.png is a file, not a directory"),
    (["-o", "{tmp}"], "expected a file name ending in .lam"),
    (["-o", "{tmp}/a.lam", "--ply", "{tmp}/a.obj"], "ending in .ply"),
    (["-o", "{tmp}/a.lam", "--preview", "{tmp}/a.lam"], "different paths|ending in .png"),
    (["-o", "{tmp}/a.lam", "--landmark-embedding", "{tmp}/e.npz"], "goes with --flame-model"),
    (["-o", "{tmp}/a.lam", "--flame-model", "{tmp}/nope.pkl"], "FLAME model not found"),
])
def test_bad_outputs_and_options(photos, tmp_path, args, expect):
    args = [a.replace("{tmp}", str(tmp_path)).replace("{photos}", str(photos)) for a in args]
    r = run([photos / "astronaut.jpg"] + args, tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert __import__("re").search(expect, r.stderr), r.stderr
    assert list(tmp_path.iterdir()) == []


def test_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / "x.jpg")])
    assert e.value.code == 2 and "-o FILE.lam" in capsys.readouterr().err


def test_interrupt_leaves_nothing(photos, tmp_path, monkeypatch):
    """A failure after the .lam is written (here, in the preview) removes everything written so far."""
    import exporter.photo_export as pe

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pe, "preview_sheet", boom)
    from exporter.cli import run as run_cli

    code = run_cli(main, [str(photos / "astronaut.jpg"), "-o", str(tmp_path / "a.lam"),
                          "--preview", str(tmp_path / "p.png"), "-q"])
    assert code == 130 and list(tmp_path.iterdir()) == []


def test_flame_export(photos, tmp_path, flame_pickle):
    out = tmp_path / "f.lam"
    r = run([photos / "astronaut.jpg", "-o", out, "--flame-model", flame_pickle], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "computed from MediaPipe's canonical face" in r.stderr
    f = read_lam(out)
    assert f.avatar.n == 20018 and f.avatar.rig.expr_names[0] == "expr_00"
