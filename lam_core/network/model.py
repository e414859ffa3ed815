"""The LAM network: a photo and canonical points in, one Gaussian per point out."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from .config import LamConfig
from .decoder import GaussianDecoder
from .encoder import ImageEncoder
from .points import PointEmbed

OUTPUTS = ("offset", "rgb", "opacity", "scale", "rotation")


class LamNetwork(nn.Module):
    """``net(image, points)``: image [B, 3, H, W] RGB in [0, 1] on white (H, W multiples of the patch size),
    points [B, N, 3] canonical points in metres -> dict of ``offset`` [B,N,3], ``rgb`` [B,N,3], ``opacity``
    [B,N,1], ``scale`` [B,N,3], ``rotation`` [B,N,4] (w, x, y, z). The state-dict keys are the official ones."""

    def __init__(self, config: LamConfig | None = None):
        super().__init__()
        from .transformer import JointTransformer

        self.config = config or LamConfig()
        self.encoder = ImageEncoder(self.config)
        self.pcl_embed = PointEmbed(self.config.point_freqs, self.config.dim)
        self.transformer = JointTransformer(self.config)
        self.renderer = GaussianDecoder(self.config)

    def check_inputs(self, image: Tensor, points: Tensor) -> None:
        p = self.config.patch_size
        if image.ndim != 4 or image.shape[1] != 3 or image.shape[-2] % p or image.shape[-1] % p:
            raise ValueError(f"image must be [B, 3, H, W] with H, W multiples of {p}, got {list(image.shape)}")
        if points.ndim != 3 or points.shape[-1] != 3 or points.shape[0] != image.shape[0]:
            raise ValueError(f"points must be [B, N, 3] with B = {image.shape[0]}, got {list(points.shape)}")

    def forward(self, image: Tensor, points: Tensor, pos_embed: Tensor | None = None,
                progress: Callable[[], None] | None = None) -> dict[str, Tensor]:
        """``pos_embed``: a precomputed :meth:`DinoV2.position_embedding` (the ONNX graph bakes it in);
        ``progress``: called after the encoder and after each transformer block."""
        if not torch.jit.is_tracing():
            self.check_inputs(image, points)
        feats = self.encoder(image, pos_embed)
        if progress is not None:
            progress()
        x = self.transformer(self.pcl_embed(points).to(feats.dtype), feats, progress)
        return self.renderer(x)

    @staticmethod
    def progress_steps(config: LamConfig) -> int:
        return 1 + config.layers


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def meta_network(config: LamConfig | None = None) -> LamNetwork:
    """The network's structure without memory (shapes and names only)."""
    with torch.device("meta"):
        return LamNetwork(config)
