"""Query points -> tokens: Fourier features of the canonical xyz, a linear layer and a LayerNorm."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def fourier_basis(freqs: int) -> Tensor:
    """[3, 3*freqs]: column a*freqs + k holds pi * 2^k on axis a (x-frequencies, then y, then z)."""
    e = torch.pow(2, torch.arange(freqs)).float() * math.pi
    z = torch.zeros(freqs)
    return torch.stack([torch.cat([e, z, z]), torch.cat([z, e, z]), torch.cat([z, z, e])])


class PointEmbed(nn.Module):
    """[B, N, 3] -> [B, N, dim]: sin of all 3*freqs projections, then their cos, then xyz (6*freqs + 3)."""

    def __init__(self, freqs: int, dim: int):
        super().__init__()
        self.register_buffer("basis", fourier_basis(freqs))
        self.mlp = nn.Linear(6 * freqs + 3, dim)
        self.norm = nn.LayerNorm(dim)  # eps 1e-5

    def forward(self, points: Tensor) -> Tensor:
        proj = torch.einsum("bnd,de->bne", points, self.basis)
        return self.norm(self.mlp(torch.cat([proj.sin(), proj.cos(), points], dim=2)))
