"""Shared by the open-head tests: the head built once per test run into a temporary cache."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

_DIR: Path | None = None


def open_head_cache_dir() -> Path:
    global _DIR
    if _DIR is None:
        _DIR = Path(tempfile.mkdtemp(prefix="lam-open-head-"))
        atexit.register(shutil.rmtree, _DIR, True)
    return _DIR


def built_open_head():
    """The OpenHead (model + extras), or a skip when the npm package is not installed."""
    from lam_core.open_head import OpenHeadAssetError, load_open_head_parts

    try:
        return load_open_head_parts(open_head_cache_dir())
    except OpenHeadAssetError as exc:
        pytest.skip(f"open head not buildable here: {exc}")
