"""Sizes of the LAM network; the defaults are the released LAM-20K checkpoint's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LamConfig:
    # image encoder: DINOv2 ViT-L/14 with registers
    image_size: int = 504
    vit_embed_dim: int = 1024
    vit_depth: int = 24
    vit_heads: int = 16
    vit_mlp_ratio: float = 4.0
    patch_size: int = 14
    num_registers: int = 4
    pos_grid: int = 37                      # the position embedding's grid (DINOv2 was trained at 518 px)
    feature_layers: tuple[int, ...] = (4, 11, 17, 23)
    feature_dim: int = 1024                 # the fusion head's output channels
    # points and the joint-attention transformer
    point_freqs: int = 8
    dim: int = 1024
    layers: int = 10
    heads: int = 16
    # Gaussian decoder
    decoder_hidden: int = 512
    decoder_hidden_layers: int = 2
    offset_range: float = 0.2
    max_scale: float = 0.01

    def __post_init__(self) -> None:
        for name in ("image_size", "vit_embed_dim", "vit_depth", "vit_heads", "patch_size", "pos_grid",
                     "feature_dim", "point_freqs", "dim", "layers", "heads", "decoder_hidden",
                     "decoder_hidden_layers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"LamConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.num_registers < 0:
            raise ValueError(f"LamConfig.num_registers must be >= 0, got {self.num_registers}")
        if self.vit_embed_dim % self.vit_heads or self.dim % self.heads:
            raise ValueError("LamConfig: vit_embed_dim and dim must be multiples of their head counts")
        if not self.feature_layers or not all(0 <= i < self.vit_depth for i in self.feature_layers):
            raise ValueError(f"LamConfig.feature_layers {self.feature_layers} must index blocks 0..{self.vit_depth - 1}")
        if self.image_size % self.patch_size:
            raise ValueError(f"LamConfig.image_size {self.image_size} is not a multiple of patch_size {self.patch_size}")

    @property
    def tokens_per_side(self) -> int:
        return self.image_size // self.patch_size

    @property
    def n_image_tokens(self) -> int:
        return self.tokens_per_side ** 2
