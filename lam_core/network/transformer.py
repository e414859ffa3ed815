"""The joint-attention transformer (SD3's MMDiT block without timestep modulation).

Points and image tokens each have their own projections; one attention runs over [points ; image tokens]
with RMSNorm on every head's queries and keys. The last block keeps the image tokens only as keys and values
(it neither updates them nor needs their queries). Names follow the official model (``transformer.*``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import attention
from .config import LamConfig

EPS = 1e-6


class RMSNorm(nn.Module):
    """Per-head RMSNorm with a learned weight; the mean square is taken in float32."""

    def __init__(self, dim: int, eps: float = EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        var = x.float().pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + self.eps)
        if self.weight.dtype in (torch.float16, torch.bfloat16):
            x = x.to(self.weight.dtype)
        return x * self.weight


class GeluProj(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.proj = nn.Linear(dim, hidden)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.proj(x), approximate="tanh")


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4):
        super().__init__()
        # index 1 is the (parameter-free) dropout slot of the official layout: keys are net.0.proj, net.2
        self.net = nn.Sequential(GeluProj(dim, mult * dim), nn.Identity(), nn.Linear(mult * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class JointAttention(nn.Module):
    def __init__(self, dim: int, heads: int, context_pre_only: bool):
        super().__init__()
        head_dim = dim // heads
        self.heads = heads
        self.context_pre_only = context_pre_only
        self.to_q, self.to_k, self.to_v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.add_q_proj, self.add_k_proj, self.add_v_proj = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.norm_q, self.norm_k = RMSNorm(head_dim), RMSNorm(head_dim)
        self.norm_added_q, self.norm_added_k = RMSNorm(head_dim), RMSNorm(head_dim)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])
        self.to_add_out = None if context_pre_only else nn.Linear(dim, dim)

    def _heads(self, x: Tensor) -> Tensor:
        return x.view(x.shape[0], -1, self.heads, x.shape[-1] // self.heads).transpose(1, 2)

    def forward(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor | None]:
        n = x.shape[1]
        q = self.norm_q(self._heads(self.to_q(x)))
        k = torch.cat([self.norm_k(self._heads(self.to_k(x))), self.norm_added_k(self._heads(self.add_k_proj(c)))], 2)
        v = torch.cat([self._heads(self.to_v(x)), self._heads(self.add_v_proj(c))], 2)
        if not self.context_pre_only:  # the image tokens' own queries are needed only where they are updated
            q = torch.cat([q, self.norm_added_q(self._heads(self.add_q_proj(c)))], 2)
        a = attention(q, k, v).to(q.dtype)
        out_x = self.to_out[0](a[:, :n])
        out_c = None if self.context_pre_only else self.to_add_out(a[:, n:])
        return out_x, out_c


class JointBlock(nn.Module):
    def __init__(self, dim: int, heads: int, context_pre_only: bool):
        super().__init__()
        self.context_pre_only = context_pre_only
        self.norm1 = nn.LayerNorm(dim)          # eps 1e-5, affine
        self.norm1_context = nn.LayerNorm(dim)
        self.attn = JointAttention(dim, heads, context_pre_only)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=EPS)
        self.ff = FeedForward(dim)
        if context_pre_only:
            self.norm2_context = self.ff_context = None
        else:
            self.norm2_context = nn.LayerNorm(dim, elementwise_affine=False, eps=EPS)
            self.ff_context = FeedForward(dim)

    def forward(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor | None]:
        a_x, a_c = self.attn(self.norm1(x), self.norm1_context(c))
        x = x + a_x
        x = x + self.ff(self.norm2(x))
        if self.context_pre_only:
            return x, None
        c = c + a_c
        return x, c + self.ff_context(self.norm2_context(c))


class JointTransformer(nn.Module):
    """Point tokens [B, N, dim] attend jointly with image tokens [B, L, feature_dim] -> [B, N, dim]."""

    def __init__(self, cfg: LamConfig):
        super().__init__()
        self.layers = nn.ModuleList(JointBlock(cfg.dim, cfg.heads, context_pre_only=i == cfg.layers - 1)
                                    for i in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.dim, eps=EPS)
        self.linear_cond_proj = nn.Linear(cfg.feature_dim, cfg.dim)

    def forward(self, x: Tensor, cond: Tensor, progress=None) -> Tensor:
        c = self.linear_cond_proj(cond)
        for layer in self.layers:
            x, c = layer(x, c)
            if progress is not None:
                progress()
        return self.norm(x)
