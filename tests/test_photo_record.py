"""The photo's camera and parameters in a .lam: written, read back, printed by --inspect, refused when bad,
and used by ``lam-render --view photo``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from exporter.cli import run
from exporter.cli import render as render_cli
from exporter.cli.export import main as export_main
from exporter.lamfile import LamFileError, decode_lam, encode_lam, write_lam
from exporter.lamfile.photo_record import PhotoRecord
from lam_core.camera import Camera
from lam_core.params import FrameParams
from lam_core.render import render_posed
from tests.lam_support import frame, split, tiny_avatar


def photo(avatar) -> PhotoRecord:
    cam = Camera.look_at((0.1, 0.05, 0.9), (0.0, 0.0, 0.0), width=96, height=64, fov_deg=20)
    cam = Camera(96, 64, cam.fx, cam.fy, 47.0, 33.5, world_to_camera=cam.world_to_camera)
    p = FrameParams.zeros(1, avatar.rig.n_expr, avatar.rig.n_joints)
    p.pose[0, 2, 0] = 0.2
    p.pose[0, 0, 1] = -0.1
    p.expr[0, 3] = 0.75
    p.translation[0] = torch.tensor([0.001, -0.002, 0.003])
    return PhotoRecord(cam, p)


def test_photo_record_round_trip_and_inspect(tmp_path, capsys):
    a = tiny_avatar()
    rec = photo(a)
    path = tmp_path / "a.lam"
    write_lam(path, a, photo=rec)
    f = decode_lam(path.read_bytes())
    got = f.photo
    assert got is not None
    for k in ("width", "height", "fx", "fy", "cx", "cy"):
        assert getattr(got.camera, k) == getattr(rec.camera, k)
    np.testing.assert_allclose(got.camera.world_to_camera, rec.camera.world_to_camera, atol=1e-12)
    for k in ("expr", "pose", "translation"):
        np.testing.assert_allclose(getattr(got.params, k).numpy(), getattr(rec.params, k).numpy(), atol=1e-7)
    assert decode_lam(encode_lam(a)).photo is None  # optional
    # --inspect prints it; --json has the numbers
    assert export_main(["--inspect", str(path)]) == 0
    assert "photo       96x64 px" in capsys.readouterr().out
    assert export_main(["--inspect", str(path), "--json"]) == 0
    js = json.loads(capsys.readouterr().out)["header"]["photo"]
    assert js["camera"]["width"] == 96 and js["expr"] == {"expr_03": 0.75}
    assert np.allclose(js["camera"]["world_to_camera"], rec.camera.world_to_camera)
    assert js["pose"][2][0] == pytest.approx(0.2)


@pytest.mark.parametrize("change,message", [
    (lambda p: p.__setitem__("camera", None), "photo is not an object with a camera"),
    (lambda p: p["camera"].__setitem__("fx", -3), "fx must be finite and positive"),
    (lambda p: p["camera"].__setitem__("width", 1.5), "width and height must be integers"),
    (lambda p: p["camera"].__setitem__("world_to_camera", [[1, 0, 0, 0]] * 4), "last row"),
    (lambda p: p["camera"]["world_to_camera"][0].__setitem__(0, 2.0), "not a rotation"),
    (lambda p: p["camera"].__setitem__("world_to_camera", [[0] * 4] * 3), "shape \\[4, 4\\]"),
    (lambda p: p.__setitem__("pose", [[0, 0, 0]] * 9), "photo.pose is not a list of shape"),
    (lambda p: p.__setitem__("translation", [0, 0, "x"]), "not a finite number"),
    (lambda p: p.__setitem__("expr", {"no_such_channel": 1.0}), "not one of the rig's channels"),
    (lambda p: p.__setitem__("expr", [1, 2]), "photo.expr is not an object"),
])
def test_bad_photo_records_are_refused(change, message):
    a = tiny_avatar()
    header, chunks = split(encode_lam(a, photo=photo(a)))
    change(header["photo"])
    with pytest.raises(LamFileError, match=message) as e:
        decode_lam(frame(header, chunks))
    assert "\n" not in str(e.value)


def test_render_view_photo_matches_the_photo_camera(tmp_path, capsys):
    a = tiny_avatar()
    rec = photo(a)
    path = tmp_path / "a.lam"
    write_lam(path, a, lossless=True, photo=rec)
    out = tmp_path / "photo.png"
    assert run(render_cli.main, [str(path), "-o", str(out), "--view", "photo", "--size", "96", "--quiet"]) == 0
    got = np.asarray(Image.open(out).convert("RGB"))
    want = render_posed(a.animate(rec.params), rec.camera, backend="cpu").rgb_uint8()
    assert got.shape == (64, 96, 3)
    assert np.abs(got.astype(int) - want.astype(int)).mean() < 1.0
    assert (want < 250).any(axis=2).mean() > 0.05  # the avatar is in the picture
    # turned about the head: a different picture; --size scales the photo's camera
    assert run(render_cli.main, [str(path), "-o", str(out), "--view", "photo", "--yaw", "30", "--size", "48",
                                 "--quiet"]) == 0
    turned = np.asarray(Image.open(out).convert("RGB"))
    assert turned.shape == (32, 48, 3)
    # a file without a photo record says so in one line
    plain = tmp_path / "plain.lam"
    write_lam(plain, a)
    assert run(render_cli.main, [str(plain), "-o", str(out), "--view", "photo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "records no photo camera" in err and "\n" not in err
