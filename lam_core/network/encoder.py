"""The image encoder: DINOv2 ViT with register tokens, and the head that fuses four of its layers.

Parameter names follow the official model (``encoder.model.*``, ``encoder.fusion_head.*``) so the released
checkpoint loads as is. Attention: :func:`~lam_core.network.attention.attention`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import attention
from .config import LamConfig

VIT_EPS = 1e-6
POS_ANTIALIAS = True   # DINOv2 "_reg" models resample their position grid bicubic with antialiasing ...
POS_OFFSET = 0.0       # ... and no interpolation offset


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, rows*cols, D), row-major


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        return self.proj(attention(q, k, v))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


class VitBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=VIT_EPS)
        self.attn = SelfAttention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=VIT_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoV2(nn.Module):
    """ViT with a cls token and register tokens; returns the normalised patch tokens of chosen blocks."""

    def __init__(self, cfg: LamConfig):
        super().__init__()
        d = cfg.vit_embed_dim
        self.patch_size = cfg.patch_size
        self.num_registers = cfg.num_registers
        self.patch_embed = PatchEmbed(cfg.patch_size, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.pos_grid ** 2 + 1, d))
        if cfg.num_registers:
            self.register_tokens = nn.Parameter(torch.zeros(1, cfg.num_registers, d))
        else:
            self.register_tokens = None
        self.blocks = nn.ModuleList(VitBlock(d, cfg.vit_heads, cfg.vit_mlp_ratio) for _ in range(cfg.vit_depth))
        self.norm = nn.LayerNorm(d, eps=VIT_EPS)

    def position_embedding(self, height: int, width: int) -> Tensor:
        """The position embedding for an image of ``height`` x ``width`` pixels: cls first, then the grid
        resampled to the token grid (bicubic, antialiased, by DINOv2's scale factors)."""
        n_grid = self.pos_embed.shape[1] - 1
        rows, cols = height // self.patch_size, width // self.patch_size
        if rows * cols == n_grid and height == width:
            return self.pos_embed
        dtype = self.pos_embed.dtype
        pos = self.pos_embed.float()
        side = math.sqrt(n_grid)
        grid = pos[:, 1:].reshape(1, int(side), int(side), -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=((rows + POS_OFFSET) / side, (cols + POS_OFFSET) / side),
                             mode="bicubic", antialias=POS_ANTIALIAS)
        if grid.shape[-2:] != (rows, cols):
            raise ValueError(f"position grid resampled to {tuple(grid.shape[-2:])}, expected {(rows, cols)}")
        grid = grid.permute(0, 2, 3, 1).reshape(1, rows * cols, -1)
        return torch.cat([pos[:, :1], grid], dim=1).to(dtype)

    def forward(self, image: Tensor, layers: tuple[int, ...], pos_embed: Tensor | None = None) -> list[Tensor]:
        b, _, h, w = image.shape
        x = self.patch_embed(image)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)
        x = x + (self.position_embedding(h, w) if pos_embed is None else pos_embed)
        if self.register_tokens is not None:
            x = torch.cat([x[:, :1], self.register_tokens.expand(b, -1, -1), x[:, 1:]], dim=1)
        outputs, last = [], max(layers)
        for i, block in enumerate(self.blocks[:last + 1]):
            x = block(x)
            if i in layers:
                outputs.append(x)
        return [self.norm(o)[:, 1 + self.num_registers:] for o in outputs]


class FusionHead(nn.Module):
    """A 1x1 conv on each chosen layer's token grid, concatenated, then a 1x1 conv to ``feature_dim``."""

    def __init__(self, dim: int, n_layers: int, out_dim: int):
        super().__init__()
        self.projects = nn.ModuleList(nn.Conv2d(dim, dim, kernel_size=1) for _ in range(n_layers))
        self.output_conv = nn.Conv2d(dim * n_layers, out_dim, kernel_size=1)

    def forward(self, features: list[Tensor], rows: int, cols: int) -> Tensor:
        maps = [proj(f.permute(0, 2, 1).reshape(f.shape[0], f.shape[-1], rows, cols))
                for proj, f in zip(self.projects, features)]
        return self.output_conv(torch.cat(maps, dim=1))


class ImageEncoder(nn.Module):
    """Image [B, 3, H, W] in [0, 1] -> image tokens [B, (H/p)*(W/p), feature_dim], row-major."""

    def __init__(self, cfg: LamConfig):
        super().__init__()
        self.layers = tuple(cfg.feature_layers)
        self.model = DinoV2(cfg)
        self.fusion_head = FusionHead(cfg.vit_embed_dim, len(self.layers), cfg.feature_dim)

    def forward(self, image: Tensor, pos_embed: Tensor | None = None) -> Tensor:
        p = self.model.patch_size
        rows, cols = image.shape[-2] // p, image.shape[-1] // p
        fused = self.fusion_head(self.model(image, self.layers, pos_embed), rows, cols)
        return fused.permute(0, 2, 3, 1).flatten(1, 2)
