"""Verification of the browser viewer against the reference renderer (``lam-verify``).

:func:`builtin_sequence` is the parameter sequence used when no motion is given: every frame moves the global
rotation, translation, neck, jaw and eyes (so the pose correctives are active) and the expression channels,
with amplitudes a real performance reaches.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lam_core import FrameParams


def builtin_sequence(n_expr: int, frames: int = 30, n_joints: int = 5) -> FrameParams:
    """``frames`` frames exercising global rotation, translation, neck, jaw, eyes, expressions and pose
    correctives (deterministic)."""
    t = np.arange(frames, dtype=np.float64) / max(frames, 1)
    w = 2 * math.pi * t
    pose = np.zeros((frames, n_joints, 3))
    pose[:, 0] = np.stack([np.deg2rad(10) * np.sin(2 * w), np.deg2rad(28) * np.sin(w), np.deg2rad(6) * np.sin(3 * w)], 1)
    if n_joints > 1:  # neck
        pose[:, 1] = np.stack([np.deg2rad(12) * np.sin(w + 1), np.deg2rad(15) * np.cos(2 * w), np.deg2rad(8) * np.sin(w)], 1)
    if n_joints > 2:  # jaw: opens and shifts
        pose[:, 2, 0] = 0.15 + 0.15 * np.sin(3 * w)
        pose[:, 2, 1] = 0.03 * np.sin(w)
    for j in range(3, n_joints):  # eyes
        pose[:, j] = np.stack([np.deg2rad(12) * np.sin(2 * w + j), np.deg2rad(18) * np.sin(w + 0.5), 0 * w], 1)
    translation = np.stack([0.01 * np.sin(w), 0.008 * np.cos(2 * w), 0.015 * np.sin(w + 2)], 1)
    rng = np.random.default_rng(7)
    phase = rng.uniform(0, 2 * math.pi, n_expr)
    freq = rng.integers(1, 4, n_expr)
    amp = 2.0 / np.sqrt(1.0 + np.arange(n_expr))
    expr = amp * np.sin(freq[None] * w[:, None] + phase[None])
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return FrameParams(f32(expr), f32(pose), f32(translation))
