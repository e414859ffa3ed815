"""How faithfully a decoded ``.lam`` avatar animates compared with the avatar it was written from.

The probe is :func:`lam_core.exercise.exercise_sequence` (every joint, the translation, every expression
channel; the pose correctives follow from the joint rotations). :func:`posed_errors` compares the posed
Gaussians in parameter space (centres, rotations, scales, colours); :func:`render_psnr` renders both with the reference renderer and returns the PSNR of each frame.
"""

from __future__ import annotations

import numpy as np

from lam_core.gaussians import GaussianAvatar
from lam_core.params import FrameParams


def posed_errors(ref: GaussianAvatar, test: GaussianAvatar, params: FrameParams) -> dict[str, np.ndarray]:
    """Per frame: max and RMS distance of posed centres (metres), max rotation difference (degrees); and
    the frame-independent max relative scale error, max colour and opacity error."""
    a, b = ref.animate(params), test.animate(params)
    d = (a.means - b.means).norm(dim=-1).numpy()
    dot = (a.quats * b.quats).sum(-1).abs() / (a.quats.norm(dim=-1) * b.quats.norm(dim=-1))
    ang = np.degrees(2 * np.arccos(dot.clamp(max=1.0).numpy()))
    return {
        "centre_max_m": d.max(1), "centre_rms_m": np.sqrt((d ** 2).mean(1)), "rotation_max_deg": ang.max(1),
        "scale_rel_max": float((b.scales / a.scales - 1).abs().max()),
        "color_max": float((a.colors - b.colors).abs().max()),
        "opacity_max": float((a.opacities - b.opacities).abs().max()),
    }


def probe_yaws(frames: int) -> list[float]:
    """Camera yaw per frame (degrees): front, left and right three-quarter views in turn."""
    return [(-30.0, 0.0, 30.0)[i % 3] for i in range(frames)]


def render_psnr(ref: GaussianAvatar, test: GaussianAvatar, params: FrameParams, size: int = 512,
                backend: str = "auto") -> np.ndarray:
    """PSNR (dB) per frame of ``test`` rendered against ``ref``, same camera, white background."""
    from lam_core.camera import avatar_camera
    from lam_core.metrics import psnr
    from lam_core.render import render_posed

    a, b = ref.animate(params), test.animate(params)
    framing = a.means.reshape(-1, 3).numpy()  # every frame's centres: the moving head stays in view
    out = []
    for i, yaw in enumerate(probe_yaws(params.batch)):
        cam = avatar_camera(framing, yaw_deg=yaw, size=size)
        ra = render_posed(a, cam, frame=i, backend=backend).rgb
        rb = render_posed(b, cam, frame=i, backend=backend).rgb
        out.append(float(psnr(ra, rb)))
    return np.array(out)
