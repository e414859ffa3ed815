"""Per-point tokens -> Gaussian attributes (``renderer.mlp_net``, ``renderer.gs_net.out_layers``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import LamConfig

HEADS = {"shs": 3, "scaling": 3, "xyz": 3, "opacity": 1, "rotation": 4}  # the official order and names


class Mlp(nn.Module):
    """Linear, SiLU, (Linear, SiLU) x (hidden_layers - 1), Linear; keys ``layers.0``, ``layers.2``, ..."""

    def __init__(self, dim: int, hidden: int, hidden_layers: int):
        super().__init__()
        mods: list[nn.Module] = [nn.Linear(dim, hidden), nn.SiLU()]
        for _ in range(hidden_layers - 1):
            mods += [nn.Linear(hidden, hidden), nn.SiLU()]
        mods.append(nn.Linear(hidden, dim))
        self.layers = nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class GaussianHeads(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.out_layers = nn.ModuleDict({k: nn.Linear(dim, n) for k, n in HEADS.items()})


class GaussianDecoder(nn.Module):
    def __init__(self, cfg: LamConfig):
        super().__init__()
        self.offset_range = cfg.offset_range
        self.max_scale = cfg.max_scale
        self.mlp_net = Mlp(cfg.dim, cfg.decoder_hidden, cfg.decoder_hidden_layers)
        self.gs_net = GaussianHeads(cfg.dim)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.mlp_net(x)
        layer = self.gs_net.out_layers
        return {
            "offset": (torch.sigmoid(layer["xyz"](h)) - 0.5) * self.offset_range,
            "rgb": torch.sigmoid(layer["shs"](h)),
            "opacity": torch.sigmoid(layer["opacity"](h)),
            "scale": torch.clamp(torch.exp(layer["scaling"](h)), min=0, max=self.max_scale),
            "rotation": F.normalize(layer["rotation"](h), dim=-1),
        }
