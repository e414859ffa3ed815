"""``lam-render`` and the Python API behind it: stills, turntables, motion videos, and bad input."""

from __future__ import annotations

import os

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from exporter.cli import run
from exporter.cli import render as cli
from exporter.media import write_mp4
from exporter.ply import write_posed_ply
from exporter.render_avatar import RenderRequestError, render_still, render_video
from lam_core import FrameParams, GaussianAvatar, Gaussians, Motion, Rig, save_motion_npz
from lam_core.camera import avatar_camera
from lam_core.render import render_frames
from lam_core.render.frames import framing_points

SIZE = 48


@pytest.fixture(scope="module")
def avatar(flame_model):
    """A small rigged avatar: one Gaussian on each of the synthetic head's 5,023 vertices (fast to render)."""
    points = Rig.from_head_model(flame_model).points()
    v = points.vertices
    n = len(v)
    quats = np.zeros((n, 4), np.float32)
    quats[:, 0] = 1.0
    colors = np.clip(0.5 + 4.0 * (v - v.mean(0)), 0.0, 1.0).astype(np.float32)
    g = Gaussians(offsets=np.zeros((n, 3), np.float32), colors=colors, opacities=np.full(n, 0.9, np.float32),
                  scales=np.full((n, 3), 0.004, np.float32), rotations=quats)
    return GaussianAvatar(points, g)


@pytest.fixture(scope="module")
def ply(avatar, tmp_path_factory):
    path = tmp_path_factory.mktemp("ply") / "head.ply"
    write_posed_ply(path, avatar.animate(FrameParams.zeros(1, 100)))
    return path


@pytest.fixture(scope="module")
def motion_file(tmp_path_factory):
    t = 5
    pose = np.zeros((t, 5, 3), np.float32)
    pose[:, 2, 0] = np.linspace(0, 0.3, t)   # open the jaw
    pose[:, 0, 1] = np.linspace(0, 0.4, t)   # turn the head
    channels = np.zeros((t, 3), np.float32)
    channels[:, 0] = 1.0
    channels[:, 1] = np.linspace(0, 1, t)    # an ARKit channel FLAME-layout rigs do not have
    m = Motion(channel_names=("expr_00", "eyeBlinkLeft", "mouthSmileLeft"), channels=channels, pose=pose,
               translation=np.zeros((t, 3), np.float32), fps=12.5)
    path = tmp_path_factory.mktemp("motion") / "talk.npz"
    save_motion_npz(m, path)
    return path


def call(argv, capsys):
    code = run(cli.main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, err


def only(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


def test_still_png_is_the_reference_image(ply, tmp_path, capsys):
    out = tmp_path / "still.png"
    code, err = call([ply, "-o", out, "--size", SIZE, "--yaw", 20, "--background", "0,0,0"], capsys)
    assert code == 0, err
    assert "wrote" in err
    img = imageio.imread(out)
    assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
    from exporter.ply import read_ply

    posed = read_ply(ply)
    cam = avatar_camera(posed.means, 20.0, 0.0, SIZE)
    ref = next(render_frames(posed, cam, background=(0.0, 0.0, 0.0), backend="cpu")).rgb_uint8()
    np.testing.assert_array_equal(img, ref)
    assert (img.sum(-1) > 0).mean() > 0.2   # a head, not an empty frame
    assert only(tmp_path) == ["still.png"]


def test_turntable_mp4(ply, tmp_path, capsys):
    out = tmp_path / "turn.mp4"
    code, err = call([ply, "-o", out, "--size", SIZE, "--frames", 4, "--fps", 24, "--backend", "cpu"], capsys)
    assert code == 0, err
    reader = imageio.get_reader(out)
    frames = [f for f in reader]
    assert reader.get_meta_data()["fps"] == pytest.approx(24)
    reader.close()
    assert len(frames) == 4 and frames[0].shape == (SIZE, SIZE, 3)
    # the camera turns (90 degrees a frame): the side view differs from the front view
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() > 3
    assert only(tmp_path) == ["turn.mp4"]


def test_motion_video_with_rigged_avatar_and_unmapped_channels(avatar, motion_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "load_avatar", lambda path: avatar)   # until .lam exists, rigs live in memory
    out = tmp_path / "talk.mp4"
    code, err = call(["any.lam", "--motion", motion_file, "-o", out, "--size", SIZE, "--frames", 4], capsys)
    assert code == 0, err
    assert "eyeBlinkLeft" in err and "mouthSmileLeft" not in err   # only channels that ever move are listed
    assert "4 frames at 12.5 fps" in err
    reader = imageio.get_reader(out)
    assert reader.count_frames() == 4
    reader.close()
    code, err = call(["any.lam", "--motion", motion_file, "-o", tmp_path / "q.mp4", "--size", SIZE, "--quiet"],
                     capsys)
    assert code == 0 and err == ""


def test_python_api_with_in_memory_avatar(avatar, motion_file, tmp_path):
    from lam_core import load_motion

    motion = load_motion(motion_file)
    notes = []
    report = render_video(avatar, tmp_path / "a.mp4", motion=motion, orbit=30, size=SIZE, progress=False,
                          backend="cpu", log=notes.append)
    assert report.frames == 5 and report.fps == 12.5 and report.unmapped == ["eyeBlinkLeft"]
    assert len(notes) == 1
    still = render_still(avatar, tmp_path / "f4.png", motion=motion, frame=4, size=SIZE, backend="cpu")
    rest = render_still(avatar, tmp_path / "rest.png", size=SIZE, backend="cpu")
    assert still.frames == rest.frames == 1
    a, b = imageio.imread(tmp_path / "f4.png"), imageio.imread(tmp_path / "rest.png")
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1   # the head turned and the jaw opened
    with pytest.raises(RenderRequestError, match="frame 9"):
        render_still(avatar, tmp_path / "x.png", motion=motion, frame=9, size=SIZE)
    with pytest.raises(RenderRequestError, match="even"):
        render_video(avatar, tmp_path / "x.mp4", size=SIZE + 1)
    with pytest.raises(RenderRequestError, match="6 frames asked for"):
        render_video(avatar, tmp_path / "x.mp4", motion=motion, frames=6, size=SIZE)
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.mp4").exists()


def test_framing_follows_the_motion(avatar):
    params = FrameParams.zeros(3, 100)
    params.translation[2, 0] = 0.5          # the head moves 0.5 m to the side in the last frame
    pts = framing_points(avatar, params)
    assert pts.shape[0] == 3
    cam = avatar_camera(pts, size=64)
    moved = avatar.animate(params[2]).means[0].numpy()
    uv = cam.project(moved)
    assert uv[:, 0].min() >= 0 and uv[:, 0].max() <= 64


@pytest.mark.parametrize("argv,match", [
    (["{missing}", "-o", "{out}.png"], "avatar file not found"),
    (["{tmp}", "-o", "{out}.png"], "is a directory"),
    (["{ply}", "-o", "{out}.gif"], "unknown extension '.gif'"),
    (["{ply}", "-o", "{tmp}/no/such/dir/x.png"], "does not exist"),
    (["{ply}", "-o", "{out}.png", "--motion", "{motion}"], "static set of Gaussians"),
    (["{ply}", "-o", "{out}.png", "--orbit", "90"], "--orbit makes a video"),
    (["{ply}", "-o", "{out}.png", "--background", "pink"], "--background 'pink'"),
    (["{ply}", "-o", "{out}.png", "--size", "7"], "image size 7"),
    (["{ply}", "-o", "{out}.mp4", "--size", "33"], "even image size"),
    (["{ply}", "-o", "{out}.png", "--motion", "{tmp}/none.npz"], "motion file not found"),
    (["{bad}", "-o", "{out}.png"], "not a PLY file"),
    (["{ply}", "-o", "{out}.png", "--pitch", "95"], "pitch 95"),
    (["{ply}", "-o", "{out}.png", "--size", "big"], "argument --size: invalid int value: 'big'"),
    (["{ply}"], "required: -o/--output"),
    (["{ply}", "-o", "{out}.png", "--backend", "metal"], "invalid choice: 'metal'"),
])
def test_bad_input_one_line_no_output(argv, match, ply, motion_file, tmp_path, capsys):
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"not a ply at all")
    subst = dict(missing=tmp_path / "nope.ply", tmp=tmp_path, out=tmp_path / "out", ply=ply, motion=motion_file,
                 bad=bad)
    code, err = call([a.format(**subst) for a in argv], capsys)
    assert code == 2
    assert match in err and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert only(tmp_path) == ["bad.ply"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where CUDA is absent")
def test_gsplat_backend_without_cuda(ply, tmp_path, capsys):
    code, err = call([ply, "-o", tmp_path / "x.png", "--backend", "gsplat", "--size", SIZE], capsys)
    assert code == 2 and "CUDA" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only directories")
def test_unwritable_output_dir(ply, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, err = call([ply, "-o", ro / "x.png", "--size", SIZE], capsys)
        assert code == 2 and "not writable" in err
    finally:
        ro.chmod(0o700)


def test_failed_video_leaves_nothing(tmp_path):
    def frames():
        for _ in range(3):
            yield np.zeros((16, 16, 3), np.uint8)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_mp4(tmp_path / "v.mp4", frames(), 10, progress=False)
    assert only(tmp_path) == []


def test_console_script_is_declared():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["lam-render"] == "exporter.cli.render:entry"
