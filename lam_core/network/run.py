"""Running the network on one photo: with torch (CPU, or CUDA in bfloat16) or with onnxruntime.

A runner maps (image [S, S, 3] float in [0, 1], points [N, 3]) to numpy arrays ``offset``, ``rgb``,
``opacity`` [N], ``scale``, ``rotation``. Before a CPU run it says roughly how long it will take, from the
network's floating-point operations and this machine's measured matrix-multiply speed; a progress bar
follows the encoder and every transformer block.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from ..errors import LamError
from .config import LamConfig
from .model import OUTPUTS, LamNetwork


class NetworkRunner(Protocol):
    config: LamConfig
    label: str

    def __call__(self, image: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]: ...


def network_flops(cfg: LamConfig, n_points: int) -> float:
    """Multiply-adds x 2 of one forward pass (matrix products and attention; the rest is small)."""
    t = cfg.n_image_tokens + 1 + cfg.num_registers
    d, h = cfg.vit_embed_dim, int(cfg.vit_embed_dim * cfg.vit_mlp_ratio)
    depth = max(cfg.feature_layers) + 1
    vit = depth * (2 * t * (4 * d * d + 2 * d * h) + 4 * t * t * d)
    fuse = 2 * cfg.n_image_tokens * (len(cfg.feature_layers) * d * d + len(cfg.feature_layers) * d * cfg.feature_dim)
    l, n, D = cfg.n_image_tokens, n_points, cfg.dim
    block = 2 * (n + l) * (4 * D * D + 8 * D * D) + 4 * (n + l) * (n + l) * D
    tf = cfg.layers * block + 2 * l * cfg.feature_dim * D
    dec = 2 * n * (D * cfg.decoder_hidden * 2 + cfg.decoder_hidden ** 2 * (cfg.decoder_hidden_layers - 1))
    return float(vit + fuse + tf + dec)


def measured_flops_per_second(seconds: float = 0.3) -> float:
    """This machine's float32 matrix-multiply speed with torch's current thread count."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        n += 1
    return n * 2 * 1024 ** 3 / (time.perf_counter() - t0)


def estimate_seconds(cfg: LamConfig, n_points: int, efficiency: float = 0.6) -> float:
    """Rough CPU time of one forward pass (attention and norms run below the matmul peak: ``efficiency``)."""
    return network_flops(cfg, n_points) / (measured_flops_per_second() * efficiency)


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not enabled, leave=False)


class TorchRunner:
    """The network in torch: float32 on the CPU, bfloat16 autocast on CUDA."""

    def __init__(self, net: LamNetwork, device: str = "cpu", progress: bool = True):
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise LamError("--device cuda: no CUDA device is available here (use --device cpu)")
        self.net = net.to(device).eval()
        self.config = net.config
        self.device = device
        self.progress = progress
        self.label = f"torch {device}" + (" bfloat16" if device.startswith("cuda") else " float32")

    @classmethod
    def from_weights(cls, path: str | os.PathLike, device: str = "cpu", config: LamConfig | None = None,
                     progress: bool = True) -> tuple["TorchRunner", dict[str, torch.Tensor]]:
        from .weights import load_lam_weights

        net, flame = load_lam_weights(path, config)
        return cls(net, device, progress), flame

    def __call__(self, image: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
        img = torch.from_numpy(np.ascontiguousarray(image, np.float32)).permute(2, 0, 1)[None].to(self.device)
        pts = torch.from_numpy(np.ascontiguousarray(points, np.float32))[None].to(self.device)
        cuda = self.device.startswith("cuda")
        with _bar(LamNetwork.progress_steps(self.config), "LAM network", self.progress) as bar, torch.inference_mode(), \
                torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = self.net(img, pts, progress=lambda: bar.update(1))
        res = {k: out[k][0].float().cpu().numpy() for k in OUTPUTS}
        res["opacity"] = res["opacity"].reshape(-1)
        return res


class OnnxRunner:
    """The exported network in onnxruntime (CPU); the image size is the one it was exported with."""

    def __init__(self, path: str | os.PathLike, progress: bool = True, threads: int | None = None):
        import onnxruntime as ort

        p = Path(path)
        if not p.is_file():
            raise LamError(f"{p}: no such file")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise LamError(f"{p}: not a loadable ONNX model: {str(exc).splitlines()[0][:200]}") from None
        names = [i.name for i in self.session.get_inputs()]
        if names != ["image", "points"]:
            raise LamError(f"{p}: not a LAM network export (inputs {names}, expected ['image', 'points'])")
        size = self.session.get_inputs()[0].shape[-1]
        self.config = _config_from_metadata(self.session) or LamConfig(image_size=int(size))
        self.progress = progress
        self.label = "onnxruntime cpu"

    def __call__(self, image: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
        img = np.ascontiguousarray(np.transpose(image, (2, 0, 1))[None], np.float32)
        pts = np.ascontiguousarray(points, np.float32)[None]
        with _bar(1, "LAM network (onnxruntime)", self.progress) as bar:
            res = self.session.run(list(OUTPUTS), {"image": img, "points": pts})
            bar.update(1)
        out = {k: np.asarray(v[0], np.float32) for k, v in zip(OUTPUTS, res)}
        out["opacity"] = out["opacity"].reshape(-1)
        return out


def _config_from_metadata(session) -> LamConfig | None:
    from .weights import config_from_json

    meta = session.get_modelmeta().custom_metadata_map
    return config_from_json(meta["lam_config"], "the ONNX model") if "lam_config" in meta else None


def announce(runner: NetworkRunner, n_points: int, say: Callable[[str], None]) -> None:
    """Say roughly how long a CPU run will take."""
    if "cpu" in runner.label:
        say(f"the LAM network on the CPU ({n_points:,} points, {runner.label}): roughly "
            f"{estimate_seconds(runner.config, n_points):.0f} s")
