"""The :class:`Motion` type every motion format reads into and writes from, its caps, and the one frame-rate
check every format uses (:func:`check_fps`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import torch

from ..errors import MotionFileError
from ..head_model import JOINT_NAMES
from ..params import FrameParams, map_joints

DEFAULT_FPS = 30.0
MAX_FPS = 1000.0
MAX_FRAMES = 1_000_000
MAX_CHANNELS = 4096


def check_fps(value: object, where: object, what: str = "key 'fps'") -> float:
    """A frame rate from a file (a JSON number, an npz scalar) or a caller, as a float in (0, MAX_FPS];
    anything else (strings, booleans, arrays of several values, NaN) raises one line naming ``where``."""
    rate = None
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        rate = float(value.reshape(-1)[0])
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        rate = float(value)
    if rate is None or not (math.isfinite(rate) and 0 < rate <= MAX_FPS):
        shown = value if isinstance(value, (int, float, str, type(None))) else np.asarray(value).tolist()
        raise MotionFileError(f"{where}: {what} must be a frame rate in (0, {MAX_FPS:g}], got {shown!r}")
    return rate


@dataclass(frozen=True, eq=False)
class Motion:
    """A sequence of frames: named expression channels (``expr_00``.. for FLAME, ARKit names, or any other
    names), FLAME's 5 joint rotations (:data:`JOINT_NAMES`: global, neck, jaw, eye_l, eye_r) as axis-angle, a
    translation, and a frame rate. A rig takes the channels and the joints it has, by name (:meth:`params_for`)."""

    channel_names: tuple[str, ...]
    channels: np.ndarray      # (T, C) float32
    pose: np.ndarray          # (T, 5, 3) axis-angle, joints in JOINT_NAMES order
    translation: np.ndarray   # (T, 3) metres
    fps: float = DEFAULT_FPS
    shape: np.ndarray | None = None  # (S,) FLAME shape the sequence was tracked with, if it says
    source: str = ""

    def __post_init__(self) -> None:
        where = self.source or "motion"
        t = self.channels.shape[0]
        if t < 1:
            raise MotionFileError(f"{where}: no frames")
        if self.channels.shape != (t, len(self.channel_names)) or self.pose.shape != (t, 5, 3) \
                or self.translation.shape != (t, 3):
            raise MotionFileError(f"{where}: inconsistent arrays (channels {self.channels.shape}, "
                                  f"pose {self.pose.shape}, translation {self.translation.shape})")
        check_fps(self.fps, where, "its rate")

    @property
    def n_frames(self) -> int:
        return self.channels.shape[0]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    joint_names: ClassVar[tuple[str, ...]] = JOINT_NAMES  # the joints of ``pose``, in its order

    def params_for(self, expr_names: Sequence[str], joint_names: Sequence[str]) -> tuple[FrameParams, list[str]]:
        """Frame parameters for a rig with these expression channels and joints (in the rig's order), both
        mapped by name, and the names of the motion's channels and joints that the rig lacks (only those
        that ever move: a rig without eyes plays a motion that turns them, and says so)."""
        index = {n: i for i, n in enumerate(expr_names)}
        expr = np.zeros((self.n_frames, len(expr_names)), dtype=np.float32)
        unmapped = []
        for j, name in enumerate(self.channel_names):
            i = index.get(name)
            if i is not None:
                expr[:, i] = self.channels[:, j]
            elif np.any(self.channels[:, j] != 0):
                unmapped.append(name)
        pose, dropped = map_joints(self.pose, self.joint_names, joint_names)
        params = FrameParams(torch.from_numpy(expr), torch.from_numpy(pose),
                             torch.from_numpy(self.translation.astype(np.float32)))
        return params, unmapped + dropped
