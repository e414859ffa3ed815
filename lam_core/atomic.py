"""Atomic output files: write to a temporary file beside the target, rename over it only on success.

A crash, an error or Ctrl-C never leaves a partial or corrupt output behind, and an existing file is
replaced in one step.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import LamError


class OutputError(LamError):
    """An output path cannot be written."""


def check_writable(path: str | os.PathLike) -> Path:
    """``path`` as a Path if a file can be written there (its directory exists and takes a new file, and it
    is not a directory itself); OutputError otherwise. Tools call it on every output before doing any work.
    The directory is probed by creating (and removing) a file in it: permission bits say nothing about
    read-only or virtual file systems (/proc), nor about root."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        above = next((p for p in [parent, *parent.parents] if p.exists()), None)
        if above is not None and not above.is_dir():
            raise OutputError(f"cannot write {target}: {above} is a file, not a directory")
        raise OutputError(f"cannot write {target}: directory {parent} does not exist")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a directory")
    probe = parent / f".{target.stem}.probe-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc} in {parent}") from None
    os.close(fd)
    os.unlink(probe)
    return target


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's directory (same suffix, so writers that look at the
    extension still work); on normal exit it is renamed to ``path``, on any exception it is removed."""
    target = check_writable(path)
    tmp = target.parent / f".{target.stem}.tmp-{secrets.token_hex(4)}{target.suffix}"
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"nothing was written to {target}")
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
