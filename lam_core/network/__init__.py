"""LAM's own network (the released LAM-20K checkpoint): DINOv2 image tokens and FLAME query points through
a joint-attention transformer to one Gaussian per point. See docs/network.md."""

from .config import LamConfig
from .model import LamNetwork, count_parameters, meta_network
from .weights import WeightsError, load_lam_weights, save_lam_weights

__all__ = ["LamConfig", "LamNetwork", "load_lam_weights", "save_lam_weights", "count_parameters",
           "meta_network", "WeightsError"]
