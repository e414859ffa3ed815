"""The LAM network as ONNX: opset 17+, weights as external data (the full model is over 2 GB), optional
float16 weights, the point count dynamic; the image size and the batch (1) are fixed at export (the position
embedding is resampled once and stored as a constant). Attention is onnxruntime's
``com.microsoft.MultiHeadAttention`` (a blocked kernel; see :mod:`lam_core.network.attention`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lam_core.atomic import OutputError, check_writable
from lam_core.network import LamNetwork
from lam_core.network.attention import ORT_DOMAIN
from lam_core.network.model import OUTPUTS
from lam_core.network.weights import config_json

OPSET = 17


class _Exportable(nn.Module):
    def __init__(self, net: LamNetwork):
        super().__init__()
        self.net = net
        s = net.config.image_size
        with torch.no_grad():
            pos = net.encoder.model.position_embedding(s, s).detach().clone()
        self.register_buffer("pos", pos)

    def forward(self, image, points):
        out = self.net(image, points, pos_embed=self.pos)
        return tuple(out[k] for k in OUTPUTS)


def _weights_to_fp16(model, min_elements: int = 1024):
    """Store large float32 initializers as float16, each cast back to float32 where it is used: half the
    file, float32 arithmetic (onnxruntime's CPU kernels are float32)."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    casts = []
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        dims = list(init.dims)
        if int(np.prod(dims, dtype=np.int64)) < min_elements:
            continue
        arr = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        half = numpy_helper.from_array(arr, name + "__fp16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [name + "__fp16"], [name], to=onnx.TensorProto.FLOAT,
                                      name=name + "__cast"))
    for i, node in enumerate(casts):
        g.node.insert(i, node)
    return model


def export_onnx(net: LamNetwork, output: str | os.PathLike, *, fp16: bool = False, opset: int = OPSET,
                n_points: int = 64) -> list[Path]:
    """Write ``output`` (.onnx) and its external-data file ``output + '.data'``; returns the paths written.
    Both go to temporary names first and are renamed only when the export and its check succeeded."""
    import onnx

    out = check_writable(output)
    if out.suffix.lower() != ".onnx":
        raise OutputError(f"{out}: expected a file name ending in .onnx")
    if opset < 17:
        raise OutputError(f"opset {opset}: the LAM export needs opset 17 or newer (LayerNorm)")
    data_name = out.name + ".data"
    tmp_dir = out.parent / f".{out.stem}.tmp-onnx-{os.getpid()}"
    tmp_dir.mkdir(exist_ok=True)
    try:
        raw = tmp_dir / "raw.onnx"
        module = _Exportable(net.eval().float())
        s = net.config.image_size
        image = torch.rand(1, 3, s, s)
        points = (torch.rand(1, n_points, 3) - 0.5) * 0.3
        dyn = {"points": {1: "n_points"}}
        dyn.update({k: {1: "n_points"} for k in OUTPUTS})
        with torch.no_grad():
            torch.onnx.export(module, (image, points), str(raw), input_names=["image", "points"],
                              output_names=list(OUTPUTS), dynamic_axes=dyn, opset_version=opset,
                              dynamo=False, do_constant_folding=True, custom_opsets={ORT_DOMAIN: 1})
        model = onnx.load(str(raw), load_external_data=True)
        if fp16:
            model = _weights_to_fp16(model)
        model.metadata_props.add(key="lam_config", value=config_json(net.config))
        model.metadata_props.add(key="lam_weights", value="float16" if fp16 else "float32")
        final = tmp_dir / out.name
        onnx.save_model(model, str(final), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
        del model
        onnx.checker.check_model(str(final))
        os.replace(tmp_dir / data_name, out.parent / data_name)
        os.replace(final, out)
    finally:
        for f in tmp_dir.glob("*"):
            f.unlink()
        tmp_dir.rmdir()
    return [out, out.parent / data_name]
