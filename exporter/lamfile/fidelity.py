"""How faithfully a decoded ``.lam`` avatar animates compared with the avatar it was written from.

:func:`probe_frames` makes a deterministic sequence that moves every parameter (global rotation, translation,
neck, jaw, both eyes, every expression channel; the pose correctives follow from the joint rotations).
:func:`posed_errors` compares the posed Gaussians in parameter space (centres, rotations, scales, colours);
:func:`render_psnr` renders both with the reference renderer and returns the PSNR of each frame.
"""

from __future__ import annotations

import numpy as np
import torch

from lam_core.gaussians import GaussianAvatar
from lam_core.params import FrameParams

# amplitudes of the probe (radians, metres, expression units)
GLOBAL_RAD = (0.35, 0.6, 0.25)   # pitch, yaw, roll
NECK_RAD = (0.3, 0.35, 0.2)
JAW_OPEN_RAD = 0.35
EYE_RAD = 0.3
TRANSLATION_M = 0.02
EXPR_SIGMA = 1.5


def probe_frames(n_expr: int, n_joints: int = 5, frames: int = 30, seed: int = 0) -> FrameParams:
    """``frames`` frames in which every parameter varies smoothly and reaches its amplitude; frame 0 is
    the neutral pose. FLAME joint order [global, neck, jaw, eye_l, eye_r] for the first five joints."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=np.float64) / max(frames - 1, 1)
    env = np.sin(np.pi * t) ** 0.5  # 0 at frame 0, full in the middle

    def wave(amp, size=()):
        f = rng.uniform(0.7, 2.5, size=size + (1,))
        ph = rng.uniform(0, 2 * np.pi, size=size + (1,))
        return np.asarray(amp)[..., None] * np.sin(2 * np.pi * f * t + ph) * env

    pose = np.zeros((frames, n_joints, 3))
    if n_joints >= 1:
        pose[:, 0] = wave(GLOBAL_RAD, (3,)).T
    if n_joints >= 2:
        pose[:, 1] = wave(NECK_RAD, (3,)).T
    if n_joints >= 3:
        pose[:, 2, 0] = JAW_OPEN_RAD * np.abs(wave(1.0))
        pose[:, 2, 1:] = wave((0.05, 0.05), (2,)).T
    for j in range(3, min(n_joints, 5)):
        pose[:, j, :2] = wave((EYE_RAD, EYE_RAD), (2,)).T
    for j in range(5, n_joints):
        pose[:, j] = wave((0.2, 0.2, 0.2), (3,)).T
    expr = wave(np.full(n_expr, EXPR_SIGMA), (n_expr,)).T * rng.uniform(0.3, 1.0, size=n_expr)
    trans = wave((TRANSLATION_M,) * 3, (3,)).T
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return FrameParams(f32(expr), f32(pose), f32(trans))


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
    """Camera yaw per probe frame (degrees): front, left and right three-quarter views in turn."""
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
