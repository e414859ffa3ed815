"""One deterministic sequence that exercises every parameter of a rig: the global rotation, translation, neck,
jaw, both eyes (so every pose corrective acts), any further joint, and every expression channel, each reaching
an amplitude a real performance reaches. ``lam-verify`` plays it when no motion is given, the .lam fidelity
figures probe with it, and the tests and benchmarks that need "a bit of everything" use it.

Joints are found by name (FLAME's ``global``, ``neck``, ``jaw``, ``eye_l``, ``eye_r``); a joint with another
name turns a little about every axis. Channels take the amplitude of their kind, read from the name:
``expr_NN`` (FLAME PCA coefficients, in standard deviations), ``lmk_NNN_x`` (the open head's landmark channels,
in metres) and every other name (ARKit-style blendshape weights, in [0, 1]).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .head_model import JOINT_NAMES
from .params import FrameParams

# amplitudes (radians, metres, channel units)
GLOBAL_RAD = (0.35, 0.6, 0.25)   # pitch, yaw, roll
NECK_RAD = (0.3, 0.35, 0.2)
JAW_OPEN_RAD = 0.35
JAW_SIDE_RAD = 0.05
EYE_RAD = 0.3
OTHER_JOINT_RAD = 0.2
TRANSLATION_M = 0.02
FLAME_SIGMA = 1.5                # expr_NN
LANDMARK_M = 0.002               # lmk_NNN_a: a landmark's displacement
WEIGHT = 1.0                     # other channels: blendshape weights, 0..WEIGHT


def channel_amplitudes(expr_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: its amplitude and whether it is a weight (kept non-negative)."""
    amp = np.empty(len(expr_names))
    weight = np.zeros(len(expr_names), bool)
    for i, name in enumerate(expr_names):
        if name.startswith("expr_"):
            amp[i] = FLAME_SIGMA
        elif name.startswith("lmk_"):
            amp[i] = LANDMARK_M
        else:
            amp[i], weight[i] = WEIGHT, True
    return amp, weight


def exercise_sequence(expr_names: Sequence[str], joint_names: Sequence[str] = JOINT_NAMES, frames: int = 30,
                      seed: int = 0) -> FrameParams:
    """``frames`` frames in which every parameter varies smoothly and reaches its amplitude; frame 0 is the
    rest pose (zero everything)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=np.float64) / max(frames - 1, 1)
    env = np.sin(np.pi * t) ** 0.5  # 0 at frame 0, full in the middle

    def wave(amp) -> np.ndarray:
        amp = np.asarray(amp, dtype=np.float64)
        f = rng.uniform(0.7, 2.5, size=amp.shape + (1,))
        ph = rng.uniform(0, 2 * np.pi, size=amp.shape + (1,))
        return (amp[..., None] * np.sin(2 * np.pi * f * t + ph) * env).T  # (frames, *amp.shape)

    pose = np.zeros((frames, len(joint_names), 3))
    for j, name in enumerate(joint_names):
        if name == "global":
            pose[:, j] = wave(GLOBAL_RAD)
        elif name == "neck":
            pose[:, j] = wave(NECK_RAD)
        elif name == "jaw":
            pose[:, j, 0] = JAW_OPEN_RAD * np.abs(wave(1.0))
            pose[:, j, 1:] = wave((JAW_SIDE_RAD, JAW_SIDE_RAD))
        elif name in ("eye_l", "eye_r"):
            pose[:, j, :2] = wave((EYE_RAD, EYE_RAD))
        else:
            pose[:, j] = wave((OTHER_JOINT_RAD,) * 3)
    amp, is_weight = channel_amplitudes(expr_names)
    expr = wave(amp) * rng.uniform(0.3, 1.0, size=len(amp))
    expr[:, is_weight] = np.abs(expr[:, is_weight])
    trans = wave((TRANSLATION_M,) * 3)
    f32 = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return FrameParams(f32(expr), f32(pose), f32(trans))
