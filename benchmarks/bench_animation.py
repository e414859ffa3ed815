"""FLAME forward and Gaussian animation on the CPU (issue: Foundation)."""

from __future__ import annotations

import os

import numpy as np
import torch

from common import header, median_time, report
from lam_core import FrameParams, GaussianAvatar, Gaussians, Rig, RigPoints
from lam_core.synthetic import synthetic_flame_model


def random_params(batch: int, rng: np.random.Generator) -> FrameParams:
    f = lambda *s, scale=1.0: torch.tensor(rng.normal(scale=scale, size=s), dtype=torch.float32)  # noqa: E731
    return FrameParams(f(batch, 100), f(batch, 5, 3, scale=0.2), f(batch, 3, scale=0.01))


def avatar_for(points: RigPoints) -> GaussianAvatar:
    n = points.n_points
    q = np.zeros((n, 4), np.float32)
    q[:, 0] = 1
    g = Gaussians(np.zeros((n, 3), np.float32), np.full((n, 3), 0.5, np.float32), np.ones(n, np.float32),
                  np.full((n, 3), 0.002, np.float32), q)
    return GaussianAvatar(points, g)


def main() -> None:
    header(f"animation on the CPU ({torch.get_num_threads()} torch threads, {os.cpu_count()} cores); "
           "synthetic FLAME-layout model")
    rng = np.random.default_rng(0)
    model = synthetic_flame_model()
    frames = 100
    shape = torch.tensor(rng.normal(size=(frames, 300)), dtype=torch.float32)
    p = random_params(frames, rng)
    with torch.no_grad():
        t = median_time(lambda: model.forward(shape, p.expr, p.pose, p.translation))
    report("FLAME forward, 5,023 vertices, full parameters, batch 100", 1000 * t / frames, "ms/frame")
    base = Rig.from_head_model(model)
    for levels, goal in ((1, "<= 3 ms/frame"), (2, "")):
        avatar = avatar_for(base.subdivide(levels))
        t = median_time(lambda: avatar.animate(p))
        report(f"animate {avatar.n:,} Gaussians (means+rotations), batch 100", 1000 * t / frames, "ms/frame", goal)


if __name__ == "__main__":
    main()
