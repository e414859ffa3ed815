"""FLAME parameters in one ``.npz``, stacked over frames (T, ...): ``expr`` (T, K), ``rotation``,
``neck_pose``, ``jaw_pose`` (T, 3), ``eyes_pose`` (T, 6), ``translation`` (T, 3), optional ``shape`` (S,),
``fps`` and, as this project writes them, ``channel_names`` (C,) + ``channels`` (T, C) for named channels
beyond FLAME's ``expr``. The same keys, one row each, make VHAP's per-frame files (:mod:`.vhap`), so the key
checks live here for both."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import MotionFileError
from ..head_model import flame_expr_names
from .files import read_npz
from .sequence import DEFAULT_FPS, MAX_CHANNELS, MAX_FRAMES, Motion, check_fps

FLAME_KEYS = ("expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")
_WIDTHS = {"rotation": 3, "neck_pose": 3, "jaw_pose": 3, "eyes_pose": 6, "translation": 3}


def flame_arrays(d: dict[str, np.ndarray], where: Path, single_frame: bool) -> dict[str, np.ndarray]:
    """FLAME's keys of ``d`` checked (present, numeric, widths, one frame count, finite) as (T, n) float32."""
    out: dict[str, np.ndarray] = {}
    t = None
    for key in FLAME_KEYS:
        if key not in d:
            raise MotionFileError(f"{where}: missing key '{key}'")
        a = d[key]
        if not np.issubdtype(a.dtype, np.number):
            raise MotionFileError(f"{where}: key '{key}' has dtype {a.dtype}, expected numbers")
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2:
            raise MotionFileError(f"{where}: key '{key}' has shape {d[key].shape}, expected (frames, n)")
        want = _WIDTHS.get(key)
        if want is not None and a.shape[1] != want:
            raise MotionFileError(f"{where}: key '{key}' has shape {d[key].shape}, expected (frames, {want})")
        if key == "expr" and not 1 <= a.shape[1] <= MAX_CHANNELS:
            raise MotionFileError(f"{where}: key 'expr' has shape {d[key].shape}, expected (frames, K)")
        if single_frame and a.shape[0] != 1:
            raise MotionFileError(f"{where}: key '{key}' has {a.shape[0]} rows, a per-frame file needs 1")
        if t is None:
            t = a.shape[0]
        elif a.shape[0] != t:
            raise MotionFileError(f"{where}: key '{key}' has {a.shape[0]} frames, '{FLAME_KEYS[0]}' has {t}")
        if not np.isfinite(a).all():
            raise MotionFileError(f"{where}: key '{key}' contains NaN or infinity")
        out[key] = a.astype(np.float32)
    if t == 0:
        raise MotionFileError(f"{where}: empty sequence (0 frames)")
    if t > MAX_FRAMES:
        raise MotionFileError(f"{where}: {t} frames is more than {MAX_FRAMES}")
    return out


def flame_shape(d: dict[str, np.ndarray], where: Path) -> np.ndarray | None:
    """The optional ``shape`` key as a finite (S,) float32 vector."""
    s = d.get("shape")
    if s is None:
        return None
    s = np.asarray(s, dtype=np.float32).reshape(-1) if np.issubdtype(s.dtype, np.number) else None
    if s is None or not np.isfinite(s).all():
        raise MotionFileError(f"{where}: key 'shape' is not a finite numeric array")
    return s


def flame_motion(frames: list[dict[str, np.ndarray]], fps: float, source: str,
                 extra_names: tuple[str, ...] = (), extra: np.ndarray | None = None,
                 shape: np.ndarray | None = None) -> Motion:
    """A Motion from checked FLAME arrays (one dict per file, concatenated over frames)."""
    cat = {k: np.concatenate([f[k] for f in frames]) for k in FLAME_KEYS}
    k = cat["expr"].shape[1]
    names = flame_expr_names(k) + extra_names
    channels = cat["expr"] if extra is None else np.concatenate([cat["expr"], extra], 1)
    pose = np.concatenate([cat["rotation"], cat["neck_pose"], cat["jaw_pose"], cat["eyes_pose"]], 1)
    return Motion(channel_names=names, channels=channels, pose=pose.reshape(-1, 5, 3),
                  translation=cat["translation"], fps=fps, shape=shape, source=source)


def load_stacked_npz(path: Path, fps: float | None = None) -> Motion:
    d = read_npz(path)
    arrays = flame_arrays(d, path, single_frame=False)
    t = arrays["expr"].shape[0]
    extra_names: tuple[str, ...] = ()
    extra = None
    if "channel_names" in d or "channels" in d:
        if "channel_names" not in d or "channels" not in d:
            raise MotionFileError(f"{path}: 'channel_names' and 'channels' must come together")
        names = d["channel_names"]
        extra = d["channels"]
        if names.ndim != 1 or names.dtype.kind not in "US" or len(names) > MAX_CHANNELS:
            raise MotionFileError(f"{path}: key 'channel_names' must be a 1-D array of strings")
        if extra.ndim != 2 or extra.shape != (t, len(names)) or not np.issubdtype(extra.dtype, np.number):
            raise MotionFileError(f"{path}: key 'channels' has shape {extra.shape}, expected ({t}, {len(names)})")
        if not np.isfinite(extra).all():
            raise MotionFileError(f"{path}: key 'channels' contains NaN or infinity")
        extra_names = tuple(str(n) for n in names)
        extra = extra.astype(np.float32)
    rate = fps if fps is not None else (check_fps(d["fps"], path) if "fps" in d else DEFAULT_FPS)
    return flame_motion([arrays], rate, str(path), extra_names, extra, flame_shape(d, path))


def save_motion_npz(motion: Motion, path: str | os.PathLike) -> None:
    """Write a motion as one stacked FLAME-layout npz (atomically). Channels named ``expr_NN`` go to
    ``expr``; any others to ``channel_names``/``channels``."""
    flame = [n for n in motion.channel_names if n.startswith("expr_") and n[5:].isdigit()]
    k = max((int(n[5:]) + 1 for n in flame), default=100)
    expr = np.zeros((motion.n_frames, k), np.float32)
    other_names, other_cols = [], []
    for j, name in enumerate(motion.channel_names):
        if name in flame:
            expr[:, int(name[5:])] = motion.channels[:, j]
        else:
            other_names.append(name)
            other_cols.append(motion.channels[:, j])
    arrays = {
        "expr": expr,
        "rotation": motion.pose[:, 0], "neck_pose": motion.pose[:, 1], "jaw_pose": motion.pose[:, 2],
        "eyes_pose": motion.pose[:, 3:].reshape(-1, 6), "translation": motion.translation,
        "fps": np.float32(motion.fps),
    }
    if other_names:
        arrays["channel_names"] = np.asarray(other_names)
        arrays["channels"] = np.stack(other_cols, 1).astype(np.float32)
    if motion.shape is not None:
        arrays["shape"] = motion.shape
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
