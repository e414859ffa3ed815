"""Motion files: FLAME parameter sequences (LAM/VHAP layouts), ARKit coefficient curves and the viewer's
lam-motion JSON, all read into one :class:`Motion` (named channels, FLAME's 5 joints, translation, frame rate).

One module per format, its reader and (where the project writes it) its writer side by side:

============================  ===========================================  =================================
module                        format                                       read / write
============================  ===========================================  =================================
:mod:`.flame_npz`             one ``.npz`` of FLAME keys stacked over      ``load_stacked_npz`` /
                              frames (+ named ``channels``, ``fps``)       ``save_motion_npz``
:mod:`.vhap`                  VHAP's per-frame ``flame_param/*.npz`` and   ``load_frame_folder``,
                              its ``transforms.json``                      ``load_transforms_json`` / --
:mod:`.arkit_json`            ARKit curves (LAM's web demo)                ``load_arkit_json`` / --
:mod:`.lam_motion_json`       lam-motion JSON (lam-serve, the page's       ``load_lam_motion_json`` /
                              recordings, lam-track)                       ``save_lam_motion_json``
============================  ===========================================  =================================

:mod:`.sequence` holds :class:`Motion`, the caps and :func:`check_fps`, the one frame-rate check every format
uses; :mod:`.files` reads a file's bytes under the shared size caps. :func:`load_motion` and
:func:`save_motion` pick the format from the path (a folder, the suffix, and for ``.json`` its content).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MotionFileError
from .arkit_json import load_arkit_json
from .files import MAX_FILE_BYTES, MAX_JSON_BYTES, MAX_NPZ_BYTES, read_json
from .flame_npz import FLAME_KEYS, load_stacked_npz, save_motion_npz
from .lam_motion_json import LAM_MOTION_JOINTS, MAX_VALUES, load_lam_motion_json, motion_to_json, save_lam_motion_json
from .sequence import DEFAULT_FPS, MAX_CHANNELS, MAX_FPS, MAX_FRAMES, Motion, check_fps
from .vhap import load_frame_files, load_frame_folder, load_transforms_json

__all__ = [
    "DEFAULT_FPS", "FLAME_KEYS", "LAM_MOTION_JOINTS", "MAX_CHANNELS", "MAX_FILE_BYTES", "MAX_FPS", "MAX_FRAMES",
    "MAX_JSON_BYTES", "MAX_NPZ_BYTES", "MAX_VALUES", "Motion", "check_fps", "load_arkit_json", "load_frame_files",
    "load_frame_folder", "load_lam_motion_json", "load_motion", "load_stacked_npz", "load_transforms_json",
    "motion_to_json", "save_lam_motion_json", "save_motion", "save_motion_npz",
]

WRITTEN_SUFFIXES = (".json", ".npz")


def load_motion(path: str | os.PathLike, fps: float | None = None) -> Motion:
    """Load any supported motion layout (see the module docstring); ``fps`` overrides the file's rate."""
    p = Path(path).expanduser()
    if fps is not None:
        fps = check_fps(fps, p, "the rate asked for")
    if p.is_dir():
        return load_frame_folder(p, fps)
    if not p.is_file():
        raise MotionFileError(f"motion file not found: {p}")
    if p.suffix.lower() == ".json":
        d = read_json(p)
        if isinstance(d, dict) and d.get("format") == "lam-motion":
            return load_lam_motion_json(p, fps, data=d)
        if isinstance(d, dict) and "names" in d:
            return load_arkit_json(p, fps, data=d)
        if isinstance(d, dict) and isinstance(d.get("frames"), list):
            return load_transforms_json(p, fps, data=d)
        raise MotionFileError(f"{p}: neither lam-motion, ARKit curves ('names', 'frames') nor a VHAP transforms.json")
    if p.suffix.lower() == ".npz":
        return load_stacked_npz(p, fps)
    raise MotionFileError(f"{p}: unknown motion format (expected .npz, .json or a folder of .npz)")


def save_motion(motion: Motion, path: str | os.PathLike) -> None:
    """Write a motion, atomically, in the format its suffix names: ``.json`` lam-motion JSON (what the
    viewer plays), ``.npz`` a stacked FLAME-layout npz."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        save_motion_npz(motion, p)
    elif p.suffix.lower() == ".json":
        save_lam_motion_json(motion, p)
    else:
        raise MotionFileError(f"{p}: a motion is written as .json (lam-motion) or .npz, not '{p.suffix}'")
