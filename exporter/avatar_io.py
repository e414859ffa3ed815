"""Open an avatar file, whatever its kind: one entry point for the command-line tools.

* ``.ply``: a standard 3D Gaussian Splatting PLY -> a static set of Gaussians (``PosedGaussians`` with one
  frame; it has no rig, so it cannot play motions);
* ``.lam``: the project's compact animatable format -> a rigged ``GaussianAvatar``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from lam_core.errors import LamError
from lam_core.gaussians import GaussianAvatar, PosedGaussians

Avatar = Union[GaussianAvatar, PosedGaussians]
SUFFIXES = (".ply", ".lam")


class AvatarFileError(LamError):
    """An avatar file is missing or of a kind this tool cannot read."""


def load_avatar(path: str | os.PathLike) -> Avatar:
    p = Path(path).expanduser()
    if p.is_dir():
        raise AvatarFileError(f"{p} is a directory, expected an avatar file ({', '.join(SUFFIXES)})")
    if not p.is_file():
        raise AvatarFileError(f"avatar file not found: {p}")
    suffix = p.suffix.lower()
    if suffix == ".ply":
        from .ply import read_ply

        return read_ply(p)
    if suffix == ".lam":
        from .lamfile import read_lam

        return read_lam(p).avatar
    raise AvatarFileError(f"{p}: unknown avatar file type {p.suffix or '(no extension)'!r} "
                          f"(expected {', '.join(SUFFIXES)})")
