"""Procedural example motions, written in the FLAME npz layout (``python -m lam_core.example_motions DIR``).

Joints (head turns, jaw, gaze) work on every rig. Blinks and the smile are ARKit-named channels
(``eyeBlinkLeft``, ``mouthSmileLeft``, ...) in the file's ``channel_names``/``channels``: rigs that have such
channels (the open head, imported LAM avatars) play them; FLAME's PCA expressions have no names for them,
so a FLAME rig plays the joints and the viewer says which channels it could not map.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .head_model import flame_expr_names
from .motion import Motion, save_motion_npz

FPS = 30.0


def _blink_curve(t: np.ndarray, times: list[float], width: float = 0.16) -> np.ndarray:
    """1 at each blink's middle, a smooth close-open over ``width`` seconds."""
    out = np.zeros_like(t)
    for c in times:
        out = np.maximum(out, np.clip(1 - np.abs(t - c) / (width / 2), 0, 1) ** 0.7)
    return out


def _motion(t: np.ndarray, pose: np.ndarray, named: dict[str, np.ndarray] | None = None) -> Motion:
    named = named or {}
    flame = flame_expr_names(100)
    channels = np.zeros((len(t), 100 + len(named)), np.float32)
    for i, curve in enumerate(named.values()):
        channels[:, 100 + i] = curve
    return Motion(channel_names=flame + tuple(named), channels=channels, pose=pose.astype(np.float32),
                  translation=np.zeros((len(t), 3), np.float32), fps=FPS, source="procedural")


def example_motions() -> dict[str, Motion]:
    out: dict[str, Motion] = {}
    # talking: syllable-rate jaw opening with a little nodding and natural blinks
    t = np.arange(int(6 * FPS)) / FPS
    syllables = np.abs(np.sin(2 * np.pi * 2.3 * t + 0.6 * np.sin(2 * np.pi * 0.37 * t)))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 0.21 * t + 1.0) ** 2
    jaw = 0.2 * syllables * envelope
    pose = np.zeros((len(t), 5, 3))
    pose[:, 2, 0] = jaw
    pose[:, 1, 0] = 0.04 * np.sin(2 * np.pi * 0.5 * t)
    pose[:, 1, 1] = 0.06 * np.sin(2 * np.pi * 0.23 * t)
    blink = _blink_curve(t, [0.8, 3.1, 5.2])
    out["talk"] = _motion(t, pose, {"eyeBlinkLeft": blink, "eyeBlinkRight": blink})
    # head turns: yaw left and right, then nods, on the global rotation
    t = np.arange(int(6 * FPS)) / FPS
    pose = np.zeros((len(t), 5, 3))
    pose[:, 0, 1] = np.deg2rad(30) * np.sin(2 * np.pi * t / 3.0) * (t < 3.0)
    pose[:, 0, 0] = np.deg2rad(15) * np.sin(2 * np.pi * (t - 3.0) / 3.0) * (t >= 3.0)
    out["head_turns"] = _motion(t, pose)
    # gaze: the eyes look left, right, up, down; a blink at the end
    t = np.arange(int(4 * FPS)) / FPS
    pose = np.zeros((len(t), 5, 3))
    yaw = np.deg2rad(20) * np.sin(2 * np.pi * t / 2.0) * (t < 2.0)
    pitch = np.deg2rad(15) * np.sin(2 * np.pi * (t - 2.0) / 2.0) * (t >= 2.0)
    for j in (3, 4):
        pose[:, j, 1] = yaw
        pose[:, j, 0] = pitch
    blink = _blink_curve(t, [3.6])
    out["look_around"] = _motion(t, pose, {"eyeBlinkLeft": blink, "eyeBlinkRight": blink})
    # blinks: a double blink, a slow blink and a wink
    t = np.arange(int(4 * FPS)) / FPS
    both = _blink_curve(t, [0.5, 0.85]) + _blink_curve(t, [2.0], width=0.6)
    wink = _blink_curve(t, [3.2], width=0.4)
    out["blink"] = _motion(t, np.zeros((len(t), 5, 3)),
                           {"eyeBlinkLeft": np.clip(both + wink, 0, 1), "eyeBlinkRight": np.clip(both, 0, 1)})
    # smile: in and out, with a slight jaw drop and head tilt
    t = np.arange(int(4 * FPS)) / FPS
    s = np.sin(np.pi * np.clip(t / 3.5, 0, 1)) ** 2
    pose = np.zeros((len(t), 5, 3))
    pose[:, 2, 0] = 0.05 * s
    pose[:, 1, 2] = np.deg2rad(5) * s
    out["smile"] = _motion(t, pose, {"mouthSmileLeft": s, "mouthSmileRight": s, "cheekSquintLeft": 0.4 * s,
                                     "cheekSquintRight": 0.4 * s})
    return out


def write_example_motions(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, motion in example_motions().items():
        path = folder / f"{name}.npz"
        save_motion_npz(motion, path)
        written.append(path)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="where to write the .npz motions")
    args = ap.parse_args()
    for p in write_example_motions(args.folder):
        print(p)


if __name__ == "__main__":
    main()
