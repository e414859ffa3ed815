"""Reference renderer: one 512x512 frame of the synthetic avatar, CPU backend and gsplat (issue: reference renderer).

The avatar is framed from the front (lam_core.camera.avatar_camera, the framing lam-render uses), so the head
fills most of the image; both the face and the back of the head project into it.
"""

from __future__ import annotations

import os

import torch

from common import header, median_time, report
from lam_core import FrameParams
from lam_core.camera import avatar_camera
from lam_core.render import render_gaussians
from lam_core.render.gsplat_backend import gsplat_available
from lam_core.synthetic import synthetic_avatar

SIZE = 512


def main() -> None:
    header(f"reference renderer, {SIZE}x{SIZE}, synthetic avatar framed from the front "
           f"({torch.get_num_threads()} torch threads, {os.cpu_count()} cores; median of 5 after 1 warm-up)")
    ok, why = gsplat_available()
    for levels, goal in ((1, "<= 1000 ms/frame on 2 cores"), (2, "")):
        avatar = synthetic_avatar(levels)
        posed = avatar.animate(FrameParams.zeros(1, avatar.rig.n_expr))
        camera = avatar_camera(posed.means, size=SIZE)
        args = (posed.means[0], posed.quats[0], posed.scales, posed.colors, posed.opacities)
        threads = torch.get_num_threads()
        t = median_time(lambda: render_gaussians(*args, camera, backend="cpu"))
        report(f"CPU backend, {avatar.n:,} Gaussians, {threads} threads", 1000 * t, "ms/frame", goal)
        if threads > 1:
            # one thread too: torch's thread pool suffers badly when other processes share the cores
            torch.set_num_threads(1)
            t = median_time(lambda: render_gaussians(*args, camera, backend="cpu"))
            torch.set_num_threads(threads)
            report(f"CPU backend, {avatar.n:,} Gaussians, 1 thread", 1000 * t, "ms/frame")
        if ok:
            gpu = [a.cuda() for a in args]

            def draw():
                render_gaussians(*gpu, camera, backend="gsplat")
                torch.cuda.synchronize()

            t = median_time(draw, warmup=3)
            report(f"gsplat ({torch.cuda.get_device_name()}), {avatar.n:,} Gaussians", 1000 * t, "ms/frame")
    if not ok:
        print(f"  gsplat: skipped, {why}", flush=True)


if __name__ == "__main__":
    main()
