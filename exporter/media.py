"""Writing rendered images: PNG stills and H.264 MP4 videos (imageio with its ffmpeg plugin), atomically.

Videos are libx264, yuv420p (plays in browsers and phones), constant frame rate; their width and height must
be even (yuv420p halves the chroma resolution).
"""

from __future__ import annotations

import os
import sys
from typing import Iterable

import numpy as np

from lam_core.atomic import OutputError, atomic_path

VIDEO_QUALITY = 7  # imageio-ffmpeg's 1..10 scale; 7 is x264 CRF 15 (visually lossless for renders)


def _check_frame(rgb: np.ndarray) -> np.ndarray:
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {a.dtype} {a.shape}")
    return a


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    import imageio.v2 as imageio

    rgb = _check_frame(rgb)
    with atomic_path(path) as tmp:
        imageio.imwrite(tmp, rgb, format="PNG")


def write_mp4(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, total: int | None = None,
              progress: bool = True, desc: str = "rendering") -> int:
    """Encode uint8 (H, W, 3) frames; returns how many were written. A progress bar goes to stderr."""
    import imageio.v2 as imageio
    from tqdm import tqdm

    if not (np.isfinite(fps) and 0 < fps <= 1000):
        raise ValueError(f"frame rate must be in (0, 1000], got {fps}")
    count = 0
    with atomic_path(path) as tmp:
        with tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, disable=not progress,
                  dynamic_ncols=True) as bar:
            # imageio's writer closes itself only on success; close it (and wait for ffmpeg) on errors too, so
            # that ffmpeg cannot recreate the temporary file after atomic_path has removed it
            writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                        pixelformat="yuv420p", quality=VIDEO_QUALITY, macro_block_size=1,
                                        ffmpeg_log_level="error")
            try:
                shape = None
                for rgb in frames:
                    rgb = _check_frame(rgb)
                    if shape is None:
                        shape = rgb.shape
                        if shape[0] % 2 or shape[1] % 2:
                            raise OutputError(f"cannot write {path}: an MP4 (yuv420p) needs an even width and "
                                              f"height, the frames are {shape[1]}x{shape[0]}")
                    elif rgb.shape != shape:
                        raise ValueError(f"frame {count} is {rgb.shape}, the first was {shape}")
                    writer.append_data(rgb)
                    count += 1
                    bar.update(1)
            except BaseException:
                try:
                    writer.close()
                except Exception:  # noqa: BLE001 - the original error matters, not the one closing
                    pass
                raise
            writer.close()
        if count == 0:
            raise OutputError(f"cannot write {path}: no frames to encode")
    return count
