"""Motion files: FLAME parameter sequences (LAM/VHAP layouts) and ARKit coefficient curves.

A :class:`Motion` is a sequence of frames: named expression channels (``expr_00``.. for FLAME, ARKit names,
or any other names), the 5 joint rotations [global, neck, jaw, eye_l, eye_r] as axis-angle, a translation,
and a frame rate. A rig takes the channels it knows by name (:meth:`Motion.params_for`) and always the joints.

Layouts read by :func:`load_motion`:

* a folder of per-frame ``.npz`` (VHAP's ``flame_param/``), each with ``expr`` (1, K), ``rotation``,
  ``neck_pose``, ``jaw_pose`` (1, 3), ``eyes_pose`` (1, 6), ``translation`` (1, 3), optional ``shape``;
* VHAP's ``transforms.json`` whose ``frames[i].flame_param_path`` point at such files (or the folder that
  holds it);
* one ``.npz`` with the same keys stacked over frames (T, ...), optional ``fps`` and, as this project writes
  them, ``channel_names`` (C,) + ``channels`` (T, C) for named channels beyond FLAME's ``expr``;
* ARKit JSON as LAM's official web demo uses: ``names`` (52), ``frames`` [{``weights`` [52], ``time``}],
  optional ``head_pose`` (T, 3) axis-angle, applied as the global rotation;
* the viewer's "lam-motion" JSON (``format: "lam-motion"``): what ``lam-serve`` sends the page and what the
  page's webcam recording saves (:func:`load_lam_motion_json`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_path
from .errors import MotionFileError
from .head_model import flame_expr_names
from .npz import load_npz
from .params import FrameParams

FLAME_KEYS = ("expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")
DEFAULT_FPS = 30.0
MAX_FRAMES = 1_000_000
MAX_CHANNELS = 4096
MAX_FILE_BYTES = 256 << 20     # an npz motion file on disk
MAX_JSON_BYTES = 32 << 20      # a JSON motion is parsed whole (~20 Python objects per byte at worst): ~20K frames
MAX_NPZ_BYTES = 1 << 30        # the arrays of an npz motion, uncompressed


@dataclass(frozen=True, eq=False)
class Motion:
    channel_names: tuple[str, ...]
    channels: np.ndarray      # (T, C) float32
    pose: np.ndarray          # (T, 5, 3) axis-angle [global, neck, jaw, eye_l, eye_r]
    translation: np.ndarray   # (T, 3) metres
    fps: float = DEFAULT_FPS
    shape: np.ndarray | None = None  # (S,) FLAME shape the sequence was tracked with, if it says
    source: str = ""

    def __post_init__(self) -> None:
        t = self.channels.shape[0]
        if t < 1:
            raise MotionFileError(f"{self.source or 'motion'}: no frames")
        if self.channels.shape != (t, len(self.channel_names)) or self.pose.shape != (t, 5, 3) \
                or self.translation.shape != (t, 3):
            raise MotionFileError(f"{self.source or 'motion'}: inconsistent arrays (channels "
                                  f"{self.channels.shape}, pose {self.pose.shape}, translation {self.translation.shape})")
        if not (np.isfinite(self.fps) and 0 < self.fps <= 1000):
            raise MotionFileError(f"{self.source or 'motion'}: frame rate {self.fps} is not in (0, 1000]")

    @property
    def n_frames(self) -> int:
        return self.channels.shape[0]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def params_for(self, expr_names: tuple[str, ...] | list[str]) -> tuple[FrameParams, list[str]]:
        """Frame parameters for a rig with these expression channels, mapped by name, and the names of the
        motion's channels that the rig lacks (only those that are ever non-zero)."""
        index = {n: i for i, n in enumerate(expr_names)}
        expr = np.zeros((self.n_frames, len(expr_names)), dtype=np.float32)
        unmapped = []
        for j, name in enumerate(self.channel_names):
            i = index.get(name)
            if i is not None:
                expr[:, i] = self.channels[:, j]
            elif np.any(self.channels[:, j] != 0):
                unmapped.append(name)
        params = FrameParams(torch.from_numpy(expr), torch.from_numpy(self.pose.astype(np.float32)),
                             torch.from_numpy(self.translation.astype(np.float32)))
        return params, unmapped


# ----------------------------------------------------------------------------------------------- FLAME layouts

def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise MotionFileError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB")
    return load_npz(path, MotionFileError, max_bytes=MAX_NPZ_BYTES)


def _flame_arrays(d: dict[str, np.ndarray], where: Path, single_frame: bool) -> dict[str, np.ndarray]:
    """Validate FLAME keys; returns (T, n) float32 arrays."""
    widths = {"rotation": 3, "neck_pose": 3, "jaw_pose": 3, "eyes_pose": 6, "translation": 3}
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
        want = widths.get(key)
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


def _flame_motion(frames: list[dict[str, np.ndarray]], fps: float, source: str,
                  extra_names: tuple[str, ...] = (), extra: np.ndarray | None = None,
                  shape: np.ndarray | None = None) -> Motion:
    cat = {k: np.concatenate([f[k] for f in frames]) for k in FLAME_KEYS}
    k = cat["expr"].shape[1]
    names = flame_expr_names(k) + extra_names
    channels = cat["expr"] if extra is None else np.concatenate([cat["expr"], extra], 1)
    pose = np.concatenate([cat["rotation"], cat["neck_pose"], cat["jaw_pose"], cat["eyes_pose"]], 1)
    return Motion(channel_names=names, channels=channels, pose=pose.reshape(-1, 5, 3),
                  translation=cat["translation"], fps=fps, shape=shape, source=source)


def _shape_of(d: dict[str, np.ndarray], where: Path) -> np.ndarray | None:
    s = d.get("shape")
    if s is None:
        return None
    s = np.asarray(s, dtype=np.float32).reshape(-1) if np.issubdtype(s.dtype, np.number) else None
    if s is None or not np.isfinite(s).all():
        raise MotionFileError(f"{where}: key 'shape' is not a finite numeric array")
    return s


def _fps_of(value: object, where: Path) -> float:
    try:
        fps = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise MotionFileError(f"{where}: 'fps' is not a number") from None
    if not (np.isfinite(fps) and 0 < fps <= 1000):
        raise MotionFileError(f"{where}: 'fps' is {fps}, expected a rate in (0, 1000]")
    return fps


def load_stacked_npz(path: Path, fps: float | None = None) -> Motion:
    d = _load_npz(path)
    arrays = _flame_arrays(d, path, single_frame=False)
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
    rate = fps if fps is not None else (_fps_of(d["fps"], path) if "fps" in d else DEFAULT_FPS)
    return _flame_motion([arrays], rate, str(path), extra_names, extra, _shape_of(d, path))


def load_frame_files(files: list[Path], fps: float, source: str) -> Motion:
    if not files:
        raise MotionFileError(f"{source}: no per-frame .npz files")
    if len(files) > MAX_FRAMES:
        raise MotionFileError(f"{source}: {len(files)} frames is more than {MAX_FRAMES}")
    frames, shape = [], None
    for f in files:
        d = _load_npz(f)
        frames.append(_flame_arrays(d, f, single_frame=True))
        if shape is None:
            shape = _shape_of(d, f)
    k = {fr["expr"].shape[1] for fr in frames}
    if len(k) != 1:
        raise MotionFileError(f"{source}: frames disagree on the number of expression parameters {sorted(k)}")
    return _flame_motion(frames, fps, source, shape=shape)


def _read_json(path: Path) -> object:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise MotionFileError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MiB, the limit for JSON motions")
        with open(path, "rb") as f:
            return json.loads(f.read())
    except MotionFileError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MotionFileError(f"{path}: not valid JSON ({exc})") from None


def load_transforms_json(path: Path, fps: float | None = None) -> Motion:
    d = _read_json(path)
    frames = d.get("frames") if isinstance(d, dict) else None
    if not isinstance(frames, list) or not frames:
        raise MotionFileError(f"{path}: key 'frames' must be a non-empty list")
    root = path.parent.resolve()
    entries = []
    for i, fr in enumerate(frames):
        rel = fr.get("flame_param_path") if isinstance(fr, dict) else None
        if not isinstance(rel, str):
            raise MotionFileError(f"{path}: frames[{i}] has no 'flame_param_path'")
        f = (root / rel).resolve()
        if root not in f.parents:
            raise MotionFileError(f"{path}: frames[{i}].flame_param_path points outside {root}")
        entries.append((rel, f))
    files = [f for _, f in sorted(entries, key=lambda e: e[0])]  # LAM orders frames by this path
    rate = fps if fps is not None else (_fps_of(d["fps"], path) if "fps" in d else DEFAULT_FPS)
    for f in files:
        if not f.is_file():
            raise MotionFileError(f"{path}: frame file {f.relative_to(root)} does not exist")
    return load_frame_files(files, rate, str(path))


# ----------------------------------------------------------------------------------------------- ARKit JSON

def load_arkit_json(path: Path, fps: float | None = None, data: object = None) -> Motion:
    d = _read_json(path) if data is None else data
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
                fps = float(1.0 / np.median(dt))
    return Motion(channel_names=tuple(names), channels=weights, pose=pose,
                  translation=np.zeros((len(frames), 3), np.float32), fps=fps, source=str(path))


# ----------------------------------------------------------------------------------------------- lam-motion JSON

LAM_MOTION_JOINTS = ("global", "neck", "jaw", "eye_l", "eye_r")
MAX_VALUES = 1 << 26          # frames x (channels + 18): the viewer's limit too (viewer_web/src/motion.js)
MAX_NAME = 256


def _b64_floats(d: dict, key: str, count: int, where: Path) -> np.ndarray:
    """``count`` little-endian float32 values from the base64 string ``d[key]``; lengths checked first."""
    import base64
    import binascii

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
    """The viewer's "lam-motion" JSON (exporter.motion_json writes it, the page records it from the webcam):
    ``{format: "lam-motion", version: 1, fps, frames, channel_names, joint_names, channels, pose, translation,
    source}`` with base64 little-endian float32 arrays, frame-major. Every count is checked before decoding."""
    d = _read_json(path) if data is None else data
    if not isinstance(d, dict) or d.get("format") != "lam-motion":
        raise MotionFileError(f"{path}: not a lam-motion file (no \"format\": \"lam-motion\")")
    version = d.get("version")
    if isinstance(version, bool) or version != 1:
        raise MotionFileError(f"{path}: lam-motion version {version!r} is not supported (expected 1)")
    t = d.get("frames")
    if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= MAX_FRAMES:
        raise MotionFileError(f"{path}: key 'frames' must be a frame count in 1..{MAX_FRAMES}, got {t!r}")
    rate = d.get("fps")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (math.isfinite(rate) and 0 < rate <= 1000):
        raise MotionFileError(f"{path}: key 'fps' must be a frame rate in (0, 1000], got {rate!r}")
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
                  fps=float(fps if fps is not None else rate), source=str(path))


# ----------------------------------------------------------------------------------------------- entry point

def load_motion(path: str | os.PathLike, fps: float | None = None) -> Motion:
    """Load any supported motion layout (see the module docstring); ``fps`` overrides the file's rate."""
    p = Path(path).expanduser()
    if fps is not None and not (np.isfinite(fps) and 0 < fps <= 1000):
        raise MotionFileError(f"frame rate {fps} is not in (0, 1000]")
    if p.is_dir():
        if (p / "transforms.json").is_file():
            return load_transforms_json(p / "transforms.json", fps)
        if p.name == "flame_param" and (p.parent / "transforms.json").is_file():
            return load_transforms_json(p.parent / "transforms.json", fps)
        folder = p / "flame_param" if (p / "flame_param").is_dir() else p
        files = sorted(f for f in folder.iterdir() if f.suffix == ".npz" and f.is_file())
        return load_frame_files(files, fps or DEFAULT_FPS, str(p))
    if not p.is_file():
        raise MotionFileError(f"motion file not found: {p}")
    if p.suffix.lower() == ".json":
        d = _read_json(p)
        if isinstance(d, dict) and d.get("format") == "lam-motion":
            return load_lam_motion_json(p, fps, data=d)
        if isinstance(d, dict) and "names" in d:
            return load_arkit_json(p, fps, data=d)
        if isinstance(d, dict) and isinstance(d.get("frames"), list):
            return load_transforms_json(p, fps)
        raise MotionFileError(f"{p}: neither lam-motion, ARKit curves ('names', 'frames') nor a VHAP transforms.json")
    if p.suffix.lower() == ".npz":
        return load_stacked_npz(p, fps)
    raise MotionFileError(f"{p}: unknown motion format (expected .npz, .json or a folder of .npz)")


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
