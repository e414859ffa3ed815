"""LAM's network (lam_core.network): the released layout on the meta device, tiny configurations for the
maths (forward, backward, determinism, the pieces against their formulas), strict loading and every bad
checkpoint ending in one line and exit 2, ONNX against torch."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import torch

from exporter.cli import run
from lam_core.network import LamConfig, LamNetwork, load_lam_weights, save_lam_weights
from lam_core.network.model import OUTPUTS, count_parameters, meta_network

TINY = LamConfig(image_size=56, vit_embed_dim=32, vit_depth=4, vit_heads=2, num_registers=4, pos_grid=5,
                 feature_layers=(0, 1, 2, 3), feature_dim=24, point_freqs=8, dim=32, layers=3, heads=2,
                 decoder_hidden=16, decoder_hidden_layers=2)

OFFICIAL_COUNTS = {"encoder.model": 304_371_712, "encoder.fusion_head": 8_393_728, "pcl_embed": 55_296,
                   "transformer": 243_494_400, "renderer.mlp_net": 1_312_768, "renderer.gs_net": 14_350}


def tiny_net(seed: int = 0) -> LamNetwork:
    torch.manual_seed(seed)
    net = LamNetwork(TINY)
    with torch.no_grad():  # LayerScale and norms away from their identity initialisation
        for name, p in net.named_parameters():
            if name.endswith(("gamma", "weight")) and p.ndim == 1:
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn_like(p))
            elif "pos_embed" in name or "tokens" in name:
                p.copy_(torch.randn_like(p))
        net.renderer.gs_net.out_layers.scaling.bias.fill_(-6.0)  # below the 0.01 clamp, as trained ones are
    return net.eval()


def inputs(n: int = 50, seed: int = 1, size: int = 56):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, size, size, generator=g), (torch.rand(1, n, 3, generator=g) - 0.5) * 0.3


def test_full_size_layout_on_meta_device():
    net = meta_network()
    assert count_parameters(net) == 557_642_254
    for prefix, n in OFFICIAL_COUNTS.items():
        assert count_parameters(net.get_submodule(prefix)) == n, prefix
    sd = net.state_dict()
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    assert shapes["pcl_embed.basis"] == (3, 24)
    assert shapes["encoder.model.pos_embed"] == (1, 37 * 37 + 1, 1024)
    assert shapes["encoder.model.register_tokens"] == (1, 4, 1024)
    assert shapes["encoder.model.patch_embed.proj.weight"] == (1024, 3, 14, 14)
    assert shapes["encoder.model.blocks.23.ls2.gamma"] == (1024,)
    assert shapes["encoder.model.blocks.0.attn.qkv.bias"] == (3072,)
    assert shapes["encoder.fusion_head.projects.3.weight"] == (1024, 1024, 1, 1)
    assert shapes["encoder.fusion_head.output_conv.weight"] == (1024, 4096, 1, 1)
    assert shapes["transformer.linear_cond_proj.weight"] == (1024, 1024)
    assert shapes["transformer.layers.0.attn.norm_added_k.weight"] == (64,)
    assert shapes["transformer.layers.0.ff.net.0.proj.weight"] == (4096, 1024)
    assert shapes["transformer.layers.0.ff_context.net.2.weight"] == (1024, 4096)
    assert shapes["transformer.layers.8.attn.to_add_out.weight"] == (1024, 1024)
    assert "transformer.layers.9.attn.to_add_out.weight" not in shapes   # the last block: image as keys/values only
    assert "transformer.layers.9.ff_context.net.0.proj.weight" not in shapes
    assert shapes["transformer.layers.9.attn.add_q_proj.weight"] == (1024, 1024)
    assert shapes["renderer.mlp_net.layers.4.weight"] == (1024, 512)
    assert shapes["renderer.gs_net.out_layers.shs.weight"] == (3, 1024)
    assert shapes["renderer.gs_net.out_layers.rotation.bias"] == (4,)
    assert "encoder.model.mask_token" not in shapes
    assert len(shapes) == 24 * 14 + 7 + 10 + 5 + 9 * 32 + 26 + 4 + 6 + 10
    # no norm without its official flags
    blk = net.transformer.layers[0]
    assert blk.norm1.eps == 1e-5 and blk.norm1.elementwise_affine
    assert blk.norm2.eps == 1e-6 and not blk.norm2.elementwise_affine
    assert net.transformer.norm.eps == 1e-6 and net.encoder.model.norm.eps == 1e-6
    assert net.pcl_embed.norm.eps == 1e-5


def test_forward_shapes_and_ranges():
    net = tiny_net()
    image, pts = inputs(77)
    with torch.no_grad():
        out = net(image, pts)
    assert set(out) == set(OUTPUTS)
    want = {"offset": 3, "rgb": 3, "opacity": 1, "scale": 3, "rotation": 4}
    for k, c in want.items():
        assert out[k].shape == (1, 77, c), k
        assert torch.isfinite(out[k]).all()
    assert out["offset"].abs().max() < 0.1
    assert (out["rgb"] > 0).all() and (out["rgb"] < 1).all()
    assert (out["scale"] >= 0).all() and (out["scale"] <= 0.01).all()
    assert torch.allclose(out["rotation"].norm(dim=-1), torch.ones(1, 77), atol=1e-5)
    assert out["rgb"].std() > 1e-3  # the points do get different values


def test_outputs_depend_on_image_and_points_and_are_deterministic():
    net = tiny_net()
    image, pts = inputs()
    with torch.no_grad():
        a, b = net(image, pts), net(image, pts)
        c = net(1 - image, pts)
        # points do not attend to their own order: permuting them permutes the outputs
        perm = torch.randperm(pts.shape[1])
        d = net(image, pts[:, perm])
    for k in OUTPUTS:
        assert torch.equal(a[k], b[k])
        torch.testing.assert_close(d[k], a[k][:, perm], rtol=1e-5, atol=1e-6)
    assert (a["rgb"] - c["rgb"]).abs().max() > 1e-4


def test_backward_reaches_the_parameters():
    net = tiny_net().train()
    image, pts = inputs()
    out = net(image, pts)
    loss = sum(v.square().mean() for v in out.values())
    loss.backward()
    last = f"transformer.layers.{TINY.layers - 1}.attn."
    unused = {last + "add_q_proj.weight", last + "add_q_proj.bias", last + "norm_added_q.weight"}
    for name, p in net.named_parameters():
        if name in unused:
            continue  # the image tokens' queries of the last block change nothing (their outputs are dropped)
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_point_embedding_is_the_fourier_formula():
    net = tiny_net()
    pts = torch.tensor([[[0.1, -0.2, 0.05], [0.0, 0.3, -0.1]]])
    x = pts[0].double().numpy()
    k = 2.0 ** np.arange(8) * math.pi
    proj = np.concatenate([x[:, :1] * k, x[:, 1:2] * k, x[:, 2:] * k], 1)   # x-freqs, then y, then z
    feats = np.concatenate([np.sin(proj), np.cos(proj), x], 1)
    lin = feats @ net.pcl_embed.mlp.weight.detach().double().numpy().T + net.pcl_embed.mlp.bias.detach().double().numpy()
    mu, var = lin.mean(1, keepdims=True), lin.var(1, keepdims=True)
    want = (lin - mu) / np.sqrt(var + 1e-5) * net.pcl_embed.norm.weight.detach().double().numpy() \
        + net.pcl_embed.norm.bias.detach().double().numpy()
    got = net.pcl_embed(pts)[0].detach().double().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_position_embedding_resampling():
    vit = tiny_net().encoder.model
    # the native grid (5 x 5 tokens = 70 px) keeps the embedding as it is
    assert vit.position_embedding(70, 70) is vit.pos_embed
    pos = vit.position_embedding(56, 42)  # 4 x 3 tokens, resampled bicubic with antialias
    assert pos.shape == (1, 1 + 12, TINY.vit_embed_dim)
    assert torch.equal(pos[:, 0], vit.pos_embed[:, 0])  # cls keeps position 0
    grid = vit.pos_embed[:, 1:].reshape(1, 5, 5, -1).permute(0, 3, 1, 2)
    want = torch.nn.functional.interpolate(grid, scale_factor=(4 / 5, 3 / 5), mode="bicubic", antialias=True)
    torch.testing.assert_close(pos[:, 1:], want.permute(0, 2, 3, 1).reshape(1, 12, -1))
    # a non-square image runs through the whole network
    net = tiny_net()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 56, 42), inputs()[1])
    assert out["rgb"].shape == (1, 50, 3)


def test_strict_round_trip_in_the_official_layout(tmp_path, flame_model):
    from lam_core.network.flame_buffers import flame_buffers, flame_from_buffers

    net = tiny_net()
    path = tmp_path / "model.safetensors"
    save_lam_weights(net, path, flame=flame_buffers(flame_model))
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        keys = set(f.keys())
    assert keys - {k for k in keys if k.startswith("renderer.flame_model.")} == set(net.state_dict())
    loaded, flame = load_lam_weights(path)  # the sizes come from the file's metadata
    assert loaded.config == TINY
    image, pts = inputs()
    with torch.no_grad():
        a, b = net(image, pts), loaded(image, pts)
    for k in OUTPUTS:
        assert torch.equal(a[k], b[k])
    head = flame_from_buffers(flame)
    np.testing.assert_array_equal(head.faces, flame_model.faces)
    np.testing.assert_allclose(head.posedirs, flame_model.posedirs)
    np.testing.assert_allclose(head.exprdirs, flame_model.exprdirs)
    assert head.parents == flame_model.parents
    # the subdivided buffers are LAM's 20K-style points: base vertices then one midpoint per unique edge
    assert flame["v_template_up"].shape[0] == int(flame["faces_up"].max()) + 1 == 20_018  # FLAME's counts


def test_flame_buffers_incomplete_or_inconsistent(flame_model):
    from lam_core.network.flame_buffers import IncompleteFlameError, flame_buffers, flame_from_buffers

    buf = flame_buffers(flame_model)
    with pytest.raises(IncompleteFlameError, match="lack faces_up"):
        flame_from_buffers({k: v for k, v in buf.items() if k != "faces_up"})
    bad = dict(buf)
    bad["faces_up"] = buf["faces_up"][torch.randperm(len(buf["faces_up"]))]
    with pytest.raises(IncompleteFlameError, match="not a midpoint subdivision"):
        flame_from_buffers(bad)
    bad = dict(buf)
    bad["shapedirs"] = buf["shapedirs"][:, :, :300]
    with pytest.raises(IncompleteFlameError, match="shapedirs has shape"):
        flame_from_buffers(bad)


# ---- bad checkpoints: one line, exit 2 -------------------------------------------------------------

def one_line_error(capsys, fn) -> str:
    code = run(lambda argv: fn())
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def safetensors_bytes(header: dict, data: bytes) -> bytes:
    import json

    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_lam_weights(tiny_net(), path)
    return path


def test_missing_file_and_pickles_are_refused(tmp_path, capsys):
    from exporter.cli.onnx import main

    msg = one_line_error(capsys, lambda: main(["--weights", str(tmp_path / "nope.safetensors"), "-o", str(tmp_path / "a.onnx")]))
    assert "no such file" in msg
    for suffix in (".pt", ".bin", ".ckpt"):
        p = tmp_path / f"model{suffix}"
        torch.save({"w": torch.zeros(2)}, p)
        msg = one_line_error(capsys, lambda: load_lam_weights(p))
        assert "pickle" in msg and "refused" in msg
    disguised = tmp_path / "disguised.safetensors"
    torch.save({"w": torch.zeros(2)}, disguised)
    assert "pickle" in one_line_error(capsys, lambda: load_lam_weights(disguised))
    assert not list(tmp_path.glob("*.onnx*"))


def test_truncated_and_lying_headers(tmp_path, capsys, tiny_file):
    raw = tiny_file.read_bytes()
    cases = {
        "truncated": raw[: len(raw) // 2],
        "short": raw[:5],
        "header_too_long": struct.pack("<Q", 10 ** 9) + raw[8:100],
        "not_json": struct.pack("<Q", 6) + b"{nope}" + b"\0" * 16,
        "lies_about_size": safetensors_bytes({"a": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 32]}}, b"\0" * 64),
        "past_the_end": safetensors_bytes({"a": {"dtype": "F32", "shape": [16], "data_offsets": [0, 64]}}, b"\0" * 32),
        "bad_dtype": safetensors_bytes({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        "overlap": safetensors_bytes({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                                      "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24),
    }
    expect = {"truncated": "truncated", "short": "not a safetensors", "header_too_long": "not a safetensors",
              "not_json": "not valid JSON", "lies_about_size": "says shape", "past_the_end": "truncated",
              "bad_dtype": "dtype", "overlap": "overlap"}
    for name, data in cases.items():
        p = tmp_path / f"{name}.safetensors"
        p.write_bytes(data)
        msg = one_line_error(capsys, lambda: load_lam_weights(p, TINY))
        assert expect[name] in msg, (name, msg)


def test_layout_mismatches_name_the_keys(tmp_path, capsys, tiny_file):
    from safetensors.torch import load_file, save_file

    sd = load_file(str(tiny_file))
    # the tiny file against the full-size configuration: counts and the first names
    msg = one_line_error(capsys, lambda: load_lam_weights(tiny_file, LamConfig()))
    assert "shape" in msg or "missing" in msg
    dropped = dict(sd)
    for k in ("transformer.norm.weight", "pcl_embed.basis"):
        del dropped[k]
    p = tmp_path / "missing.safetensors"
    save_file(dropped, str(p))
    msg = one_line_error(capsys, lambda: load_lam_weights(p, TINY))
    assert "2 missing keys (pcl_embed.basis, transformer.norm.weight)" in msg
    extra = dict(sd)
    extra["transformer.extra.weight"] = torch.zeros(3)
    extra["renderer.flame_model.v_template"] = torch.zeros(5, 3)  # FLAME buffers are not network keys
    p = tmp_path / "unexpected.safetensors"
    save_file(extra, str(p))
    msg = one_line_error(capsys, lambda: load_lam_weights(p, TINY))
    assert "1 unexpected keys (transformer.extra.weight)" in msg
    wrong = dict(sd)
    wrong["renderer.gs_net.out_layers.shs.weight"] = torch.zeros(4, TINY.dim)
    p = tmp_path / "shape.safetensors"
    save_file(wrong, str(p))
    msg = one_line_error(capsys, lambda: load_lam_weights(p, TINY))
    assert f"renderer.gs_net.out_layers.shs.weight: expected shape [3, {TINY.dim}], found [4, {TINY.dim}]" in msg


# ---- ONNX -------------------------------------------------------------------------------------------

def test_onnx_export_matches_torch(tmp_path, tiny_file, capsys):
    import onnx

    from exporter.cli.onnx import main
    from lam_core.network.run import OnnxRunner, TorchRunner

    out = tmp_path / "tiny.onnx"
    assert run(main, ["--weights", str(tiny_file), "-o", str(out)]) == 0
    assert out.is_file() and (tmp_path / "tiny.onnx.data").is_file()
    model = onnx.load(str(out), load_external_data=False)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MultiHeadAttention") == TINY.vit_depth + TINY.layers  # the blocked kernel, never Softmax
    assert "Softmax" not in ops
    net, _ = load_lam_weights(tiny_file)
    rng = np.random.default_rng(3)
    image = rng.random((56, 56, 3), dtype=np.float32)
    ort_runner, torch_runner = OnnxRunner(out, progress=False), TorchRunner(net, progress=False)
    assert ort_runner.config == TINY
    for n in (64, 129):  # the point count is dynamic
        pts = ((rng.random((n, 3)) - 0.5) * 0.3).astype(np.float32)
        a, b = torch_runner(image, pts), ort_runner(image, pts)
        for k in OUTPUTS:
            assert a[k].shape == b[k].shape
            np.testing.assert_allclose(b[k], a[k], rtol=1e-4, atol=1e-6 * max(1.0, np.abs(a[k]).max()), err_msg=k)
    half = tmp_path / "half.onnx"
    assert run(main, ["--weights", str(tiny_file), "-o", str(half), "--fp16"]) == 0
    assert (tmp_path / "half.onnx.data").stat().st_size < 0.75 * (tmp_path / "tiny.onnx.data").stat().st_size
    c = OnnxRunner(half, progress=False)(image, pts)
    np.testing.assert_allclose(c["rgb"], a["rgb"], atol=2e-3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


# ---- the joint-attention block and the decoder against their formulas, written out in float64 ----------

def _w(lin):
    return lin.weight.detach().double(), lin.bias.detach().double()


def _ln(x, mod=None, eps=1e-5):
    y = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + eps)
    return y if mod is None else y * mod.weight.detach().double() + mod.bias.detach().double()


def _rms(x, mod):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * mod.weight.detach().double()


def _ff(ff, x):
    w0, b0 = _w(ff.net[0].proj)
    w2, b2 = _w(ff.net[2])
    h = x @ w0.T + b0
    h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
    return h @ w2.T + b2


@pytest.mark.parametrize("last", [False, True])
def test_joint_block_is_the_sd3_formula(last):
    net = tiny_net()
    blk = net.transformer.layers[-1 if last else 0]
    assert blk.context_pre_only == last
    g = torch.Generator().manual_seed(5)
    x, c = torch.randn(1, 7, TINY.dim, generator=g), torch.randn(1, 5, TINY.dim, generator=g)
    with torch.no_grad():
        got_x, got_c = blk(x, c)
    x, c = x.double(), c.double()
    a = blk.attn
    h, hd = TINY.heads, TINY.dim // TINY.heads
    split = lambda t: t.view(1, -1, h, hd).transpose(1, 2)  # noqa: E731
    lin = lambda mod, t: t @ _w(mod)[0].T + _w(mod)[1]  # noqa: E731
    nx, nc = _ln(x, blk.norm1), _ln(c, blk.norm1_context)
    q = torch.cat([_rms(split(lin(a.to_q, nx)), a.norm_q), _rms(split(lin(a.add_q_proj, nc)), a.norm_added_q)], 2)
    k = torch.cat([_rms(split(lin(a.to_k, nx)), a.norm_k), _rms(split(lin(a.add_k_proj, nc)), a.norm_added_k)], 2)
    v = torch.cat([split(lin(a.to_v, nx)), split(lin(a.add_v_proj, nc))], 2)
    att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1) @ v   # points first, then the image
    att = att.transpose(1, 2).reshape(1, -1, TINY.dim)
    x1 = x + lin(a.to_out[0], att[:, :7])
    want_x = x1 + _ff(blk.ff, _ln(x1, eps=1e-6))
    torch.testing.assert_close(got_x.double(), want_x, rtol=1e-4, atol=1e-5)
    if last:
        assert got_c is None
    else:
        c1 = c + lin(a.to_add_out, att[:, 7:])
        torch.testing.assert_close(got_c.double(), c1 + _ff(blk.ff_context, _ln(c1, eps=1e-6)), rtol=1e-4, atol=1e-5)


def test_decoder_heads_are_the_formulas():
    net = tiny_net()
    x = torch.randn(1, 9, TINY.dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = net.renderer(x)
    h = x.double()
    mods = [m for m in net.renderer.mlp_net.layers if isinstance(m, torch.nn.Linear)]
    for i, m in enumerate(mods):
        h = h @ _w(m)[0].T + _w(m)[1]
        if i < len(mods) - 1:
            h = h * torch.sigmoid(h)  # SiLU
    head = lambda name: h @ _w(net.renderer.gs_net.out_layers[name])[0].T + _w(net.renderer.gs_net.out_layers[name])[1]  # noqa: E731
    rot = head("rotation")
    want = {"offset": (torch.sigmoid(head("xyz")) - 0.5) * 0.2, "rgb": torch.sigmoid(head("shs")),
            "opacity": torch.sigmoid(head("opacity")), "scale": torch.exp(head("scaling")).clamp(0, 0.01),
            "rotation": rot / rot.norm(dim=-1, keepdim=True)}
    for k in OUTPUTS:
        torch.testing.assert_close(got[k].double(), want[k], rtol=1e-4, atol=1e-6)
