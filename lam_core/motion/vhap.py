"""VHAP's tracking output: a folder of per-frame FLAME ``.npz`` (``flame_param/``), each with the keys of
:mod:`.flame_npz` one row each, and its ``transforms.json`` whose ``frames[i].flame_param_path`` point at
them (LAM orders frames by that path). Read only: VHAP writes these, this project writes stacked npz."""

from __future__ import annotations

from pathlib import Path

from ..errors import MotionFileError
from .files import read_json, read_npz
from .flame_npz import flame_arrays, flame_motion, flame_shape
from .sequence import DEFAULT_FPS, MAX_FRAMES, Motion, check_fps


def load_frame_files(files: list[Path], fps: float, source: str) -> Motion:
    if not files:
        raise MotionFileError(f"{source}: no per-frame .npz files")
    if len(files) > MAX_FRAMES:
        raise MotionFileError(f"{source}: {len(files)} frames is more than {MAX_FRAMES}")
    frames, shape = [], None
    for f in files:
        d = read_npz(f)
        frames.append(flame_arrays(d, f, single_frame=True))
        if shape is None:
            shape = flame_shape(d, f)
    k = {fr["expr"].shape[1] for fr in frames}
    if len(k) != 1:
        raise MotionFileError(f"{source}: frames disagree on the number of expression parameters {sorted(k)}")
    return flame_motion(frames, fps, source, shape=shape)


def load_frame_folder(folder: Path, fps: float | None = None) -> Motion:
    """A folder of per-frame files (or one holding ``flame_param/`` or ``transforms.json``)."""
    if (folder / "transforms.json").is_file():
        return load_transforms_json(folder / "transforms.json", fps)
    if folder.name == "flame_param" and (folder.parent / "transforms.json").is_file():
        return load_transforms_json(folder.parent / "transforms.json", fps)
    inner = folder / "flame_param" if (folder / "flame_param").is_dir() else folder
    files = sorted(f for f in inner.iterdir() if f.suffix == ".npz" and f.is_file())
    return load_frame_files(files, fps or DEFAULT_FPS, str(folder))


def load_transforms_json(path: Path, fps: float | None = None, data: object = None) -> Motion:
    d = read_json(path) if data is None else data
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
    rate = fps if fps is not None else (check_fps(d["fps"], path) if "fps" in d else DEFAULT_FPS)
    for f in files:
        if not f.is_file():
            raise MotionFileError(f"{path}: frame file {f.relative_to(root)} does not exist")
    return load_frame_files(files, rate, str(path))
