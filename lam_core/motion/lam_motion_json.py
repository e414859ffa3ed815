"""The viewer's "lam-motion" JSON: what ``lam-serve`` sends the page, what the page's webcam recording saves
(viewer_web/src/webcam/recorder.js) and what ``lam-track`` writes; viewer_web/src/motion.js reads it::

    {"format": "lam-motion", "version": 1, "fps": 30.0, "frames": T,
     "channel_names": [...C names...], "joint_names": ["global", "neck", "jaw", "eye_l", "eye_r"],
     "channels": base64(float32 T*C), "pose": base64(float32 T*5*3 axis-angle), "translation": base64(float32 T*3),
     "source": "talk.npz"}

Arrays are little-endian float32, frame-major. The writer leaves out channels that are zero in every frame (a
rig maps channels by name, and an all-zero channel changes nothing). The reader checks every count before
decoding."""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import MotionFileError
from ..head_model import JOINT_NAMES
from .files import read_json
from .sequence import MAX_CHANNELS, MAX_FRAMES, Motion, check_fps

LAM_MOTION_JOINTS = JOINT_NAMES
MAX_VALUES = 1 << 26          # frames x (channels + 18): the viewer's limit too (viewer_web/src/motion.js)
MAX_NAME = 256


def _b64_floats(d: dict, key: str, count: int, where: Path) -> np.ndarray:
    """``count`` little-endian float32 values from the base64 string ``d[key]``; lengths checked first."""
    s = d.get(key)
    if not isinstance(s, str):
        raise MotionFileError(f"{where}: key '{key}' must be a base64 string")
    want = 4 * ((count * 4 + 2) // 3)
    if len(s) != want:
        raise MotionFileError(f"{where}: key '{key}' holds {len(s)} base64 characters, expected {want} "
                              f"({count} float32 values)")
    try:
        raw = base64.b64decode(s.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise MotionFileError(f"{where}: key '{key}' is not valid base64") from None
    if len(raw) != count * 4:
        raise MotionFileError(f"{where}: key '{key}' decodes to {len(raw)} bytes, expected {count * 4}")
    a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.isfinite(a).all():
        raise MotionFileError(f"{where}: key '{key}' contains NaN or infinity")
    return a


def load_lam_motion_json(path: Path, fps: float | None = None, data: object = None) -> Motion:
    d = read_json(path) if data is None else data
    if not isinstance(d, dict) or d.get("format") != "lam-motion":
        raise MotionFileError(f"{path}: not a lam-motion file (no \"format\": \"lam-motion\")")
    version = d.get("version")
    if isinstance(version, bool) or version != 1:
        raise MotionFileError(f"{path}: lam-motion version {version!r} is not supported (expected 1)")
    t = d.get("frames")
    if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= MAX_FRAMES:
        raise MotionFileError(f"{path}: key 'frames' must be a frame count in 1..{MAX_FRAMES}, got {t!r}")
    rate = check_fps(d.get("fps"), path)
    names = d.get("channel_names")
    if not isinstance(names, list) or len(names) > MAX_CHANNELS \
            or not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME for n in names):
        raise MotionFileError(f"{path}: key 'channel_names' must be a list of at most {MAX_CHANNELS} names")
    if len(set(names)) != len(names):
        raise MotionFileError(f"{path}: key 'channel_names' repeats a name")
    joints = d.get("joint_names", list(LAM_MOTION_JOINTS))
    if joints != list(LAM_MOTION_JOINTS):
        raise MotionFileError(f"{path}: key 'joint_names' must be {list(LAM_MOTION_JOINTS)}")
    source = d.get("source", "")
    if not isinstance(source, str):
        raise MotionFileError(f"{path}: key 'source' must be a string")
    c = len(names)
    if t * (c + 18) > MAX_VALUES:
        raise MotionFileError(f"{path}: {t} frames x {c} channels is more than {MAX_VALUES} values")
    channels = _b64_floats(d, "channels", t * c, path).reshape(t, c)
    pose = _b64_floats(d, "pose", t * 15, path).reshape(t, 5, 3)
    translation = _b64_floats(d, "translation", t * 3, path).reshape(t, 3)
    return Motion(channel_names=tuple(names), channels=channels, pose=pose, translation=translation,
                  fps=rate if fps is None else fps, source=str(path))


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def motion_to_json(motion: Motion, source: str | None = None) -> dict:
    """The lam-motion JSON document of a motion (``source`` defaults to the motion's)."""
    keep = np.flatnonzero(np.any(motion.channels != 0, axis=0))
    return {
        "format": "lam-motion",
        "version": 1,
        "fps": float(motion.fps),
        "frames": int(motion.n_frames),
        "channel_names": [motion.channel_names[i] for i in keep],
        "joint_names": list(LAM_MOTION_JOINTS),
        "channels": _b64(motion.channels[:, keep]),
        "pose": _b64(motion.pose.reshape(motion.n_frames, -1)),
        "translation": _b64(motion.translation),
        "source": source if source is not None else motion.source,
    }


def save_lam_motion_json(motion: Motion, path: str | os.PathLike, source: str | None = None) -> None:
    """Write a motion as lam-motion JSON, atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(motion_to_json(motion, source)))
