"""Reading a motion file's bytes with the caps every format shares: one JSON document or one ``.npz``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import MotionFileError
from ..npz import load_npz

MAX_FILE_BYTES = 256 << 20     # an npz motion file on disk
MAX_JSON_BYTES = 32 << 20      # a JSON motion is parsed whole (~20 Python objects per byte at worst): ~20K frames
MAX_NPZ_BYTES = 1 << 30        # the arrays of an npz motion, uncompressed


def read_json(path: Path) -> object:
    """The parsed JSON document at ``path``, at most MAX_JSON_BYTES."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise MotionFileError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MiB, the limit for JSON motions")
        with open(path, "rb") as f:
            return json.loads(f.read())
    except MotionFileError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MotionFileError(f"{path}: not valid JSON ({exc})") from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` at ``path`` (no pickles; sizes checked before allocating)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise MotionFileError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB")
    return load_npz(path, MotionFileError, max_bytes=MAX_NPZ_BYTES)
