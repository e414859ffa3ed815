"""ARKit coefficient curves as LAM's official web demo uses them: ``names`` (52 blendshape names),
``frames`` [{``weights`` [52], ``time`` s}], optional ``head_pose`` (T, 3) axis-angle, applied as the global
rotation. The frame rate comes from the times (their median step). Read only: this project writes lam-motion
JSON (:mod:`.lam_motion_json`), which carries the same named channels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MotionFileError
from .files import read_json
from .sequence import DEFAULT_FPS, MAX_CHANNELS, MAX_FRAMES, Motion, check_fps


def load_arkit_json(path: Path, fps: float | None = None, data: object = None) -> Motion:
    d = read_json(path) if data is None else data
    if not isinstance(d, dict):
        raise MotionFileError(f"{path}: expected a JSON object")
    names, frames = d.get("names"), d.get("frames")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise MotionFileError(f"{path}: key 'names' must be a non-empty list of channel names")
    if len(names) > MAX_CHANNELS or len(set(names)) != len(names):
        raise MotionFileError(f"{path}: key 'names' has {len(names)} entries or repeats a name")
    if not isinstance(frames, list) or not frames:
        raise MotionFileError(f"{path}: key 'frames' must be a non-empty list")
    if len(frames) > MAX_FRAMES:
        raise MotionFileError(f"{path}: {len(frames)} frames is more than {MAX_FRAMES}")
    weights = np.zeros((len(frames), len(names)), dtype=np.float32)
    times = []
    for i, fr in enumerate(frames):
        w = fr.get("weights") if isinstance(fr, dict) else None
        if not isinstance(w, list) or len(w) != len(names):
            raise MotionFileError(f"{path}: frames[{i}].weights must list {len(names)} numbers")
        try:
            weights[i] = np.asarray(w, dtype=np.float32)
        except (TypeError, ValueError):
            raise MotionFileError(f"{path}: frames[{i}].weights are not all numbers") from None
        t = fr.get("time")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            times.append(float(t))
    if not np.isfinite(weights).all():
        raise MotionFileError(f"{path}: key 'frames' has NaN or infinite weights")
    pose = np.zeros((len(frames), 5, 3), dtype=np.float32)
    if "head_pose" in d:
        try:
            hp = np.asarray(d["head_pose"], dtype=np.float32)
        except (TypeError, ValueError):
            raise MotionFileError(f"{path}: key 'head_pose' is not a numeric (frames, 3) array") from None
        if hp.shape != (len(frames), 3) or not np.isfinite(hp).all():
            raise MotionFileError(f"{path}: key 'head_pose' has shape {hp.shape}, expected ({len(frames)}, 3) "
                                  "finite values")
        pose[:, 0] = hp
    if fps is None:
        fps = DEFAULT_FPS
        if len(times) == len(frames) and len(times) > 1:
            dt = np.diff(np.asarray(times))
            if np.all(dt > 0):
                fps = check_fps(float(1.0 / np.median(dt)), path, "the rate of its 'time' values")
    return Motion(channel_names=tuple(names), channels=weights, pose=pose,
                  translation=np.zeros((len(frames), 3), np.float32), fps=fps, source=str(path))
