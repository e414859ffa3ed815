"""``lam-export --weights / --onnx``: the photo pipeline with LAM's network behind the reconstructor seam,
end to end through the command line on the example photo, with a tiny network (the released checkpoint is
the user's) and the synthetic FLAME-layout head (from --flame-model, or from the checkpoint's buffers)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from exporter.cli import run
from exporter.cli.export import main as export_main
from exporter.lamfile import read_lam
from lam_core.network import save_lam_weights
from lam_core.network.flame_buffers import flame_buffers

from .test_network import TINY, tiny_net


@pytest.fixture(scope="module")
def files(tmp_path_factory, flame_model):
    from skimage import data

    d = tmp_path_factory.mktemp("net")
    Image.fromarray(data.astronaut()).save(d / "astronaut.png")
    save_lam_weights(tiny_net(), d / "bare.safetensors")
    save_lam_weights(tiny_net(), d / "with_flame.safetensors", flame=flame_buffers(flame_model))
    return d


def check_avatar(path, n=20_018):
    f = read_lam(path)
    g = f.avatar.gaussians
    assert f.avatar.n == n
    assert np.abs(g.offsets).max() < 0.1 + 1e-3
    assert g.scales.max() <= 0.01 + 1e-4
    assert 0 < g.colors.min() and g.colors.max() < 1
    assert g.colors.std() > 1e-3  # the network's colours, not a constant
    return f


def test_export_with_flame_from_the_checkpoint(files, tmp_path, capsys):
    out = tmp_path / "a.lam"
    assert run(export_main, [str(files / "astronaut.png"), "-o", str(out), "--weights",
                             str(files / "with_flame.safetensors")]) == 0
    err = capsys.readouterr().err
    assert "roughly" in err and "LAM network on the CPU" in err  # the time estimate comes first
    assert "FLAME head taken from the checkpoint" in err
    f = check_avatar(out)
    assert "LAM network" in f.meta.get("head", "")


def test_export_with_onnx_and_flame_model(files, tmp_path, flame_pickle):
    from exporter.onnx_export import export_onnx
    from lam_core.network import load_lam_weights

    net, _ = load_lam_weights(files / "bare.safetensors")
    onnx_path = tmp_path / "tiny.onnx"
    export_onnx(net, onnx_path)
    a, b = tmp_path / "onnx.lam", tmp_path / "torch.lam"
    assert run(export_main, [str(files / "astronaut.png"), "-o", str(a), "--onnx", str(onnx_path),
                             "--flame-model", str(flame_pickle), "-q"]) == 0
    assert run(export_main, [str(files / "astronaut.png"), "-o", str(b), "--weights",
                             str(files / "bare.safetensors"), "--flame-model", str(flame_pickle), "-q"]) == 0
    ga, gb = check_avatar(a).avatar.gaussians, check_avatar(b).avatar.gaussians
    np.testing.assert_allclose(ga.colors, gb.colors, atol=2e-3)  # the same network through both runtimes


@pytest.mark.parametrize("extra, message", [
    (["--weights", "{d}/bare.safetensors"], "needs a FLAME head"),
    (["--onnx", "{d}/nope.onnx"], "no such file"),
    (["--weights", "{d}/with_flame.safetensors", "--onnx", "{d}/x.onnx"], "not both"),
    (["--weights", "{d}/with_flame.safetensors", "--points", "80k"], "20,018 Gaussians"),
    (["--weights", "{d}/missing.safetensors"], "no such file"),
    (["--weights", "{d}/model.ckpt"], "refused"),
])
def test_bad_network_inputs(files, tmp_path, capsys, extra, message):
    import torch

    torch.save({}, files / "model.ckpt")
    out = tmp_path / "a.lam"
    args = [str(files / "astronaut.png"), "-o", str(out)] + [a.format(d=files) for a in extra]
    assert run(export_main, args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()


def test_network_input_crop():
    from lam_core.network.crop import network_input

    rgb = np.zeros((400, 300, 3), np.uint8)
    rgb[:] = (10, 200, 30)
    mask = np.zeros((400, 300), np.float32)
    mask[100:300, 80:220] = 1.0
    face = np.array([[110.0, 140.0, 0.0], [190.0, 260.0, 0.0]])
    img = network_input(rgb, mask, face, TINY.image_size)
    assert img.shape == (56, 56, 3) and img.dtype == np.float32
    assert img.min() >= 0 and img.max() <= 1
    assert np.allclose(img[0, 0], 1.0)  # outside the person: white
    assert np.allclose(img[28, 28], np.array([10, 200, 30]) / 255, atol=1e-5)  # the person keeps its colour
