"""Motions for the browser: any layout :func:`lam_core.load_motion` reads (FLAME npz layouts, VHAP folders,
ARKit JSON) as the compact "lam-motion" JSON the viewer page reads (viewer_web/src/motion.js)::

    {"format": "lam-motion", "version": 1, "fps": 30.0, "frames": T,
     "channel_names": [...C names...], "joint_names": ["global", "neck", "jaw", "eye_l", "eye_r"],
     "channels": base64(float32 T*C), "pose": base64(float32 T*5*3 axis-angle), "translation": base64(float32 T*3),
     "source": "talk.npz"}

Arrays are little-endian float32, frame-major. Channels that are zero in every frame are left out (a rig maps
channels by name, and an all-zero channel changes nothing).
"""

from __future__ import annotations

import base64

import numpy as np

from lam_core import Motion
from lam_core.head_model import JOINT_NAMES


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def motion_to_json(motion: Motion, source: str | None = None) -> dict:
    keep = np.flatnonzero(np.any(motion.channels != 0, axis=0))
    return {
        "format": "lam-motion",
        "version": 1,
        "fps": float(motion.fps),
        "frames": int(motion.n_frames),
        "channel_names": [motion.channel_names[i] for i in keep],
        "joint_names": list(JOINT_NAMES),
        "channels": _b64(motion.channels[:, keep]),
        "pose": _b64(motion.pose.reshape(motion.n_frames, -1)),
        "translation": _b64(motion.translation),
        "source": source if source is not None else motion.source,
    }
