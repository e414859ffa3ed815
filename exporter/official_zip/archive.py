"""Reading the zip itself, defensively: members are checked before anything is inflated and read into
memory by name, never extracted to disk.

Refused: member names with ``..``, absolute paths, drive letters, backslashes or NUL; symbolic links;
more than :data:`MAX_MEMBERS` members; a member larger than :data:`MAX_MEMBER_BYTES` or compressed more than
:data:`MAX_RATIO` to one, or all of them together larger than :data:`MAX_TOTAL_BYTES` (zip bombs); and
inflation is bounded by the declared size, so a header that lies is caught too. The avatar's members sit at
the root or in one top-level folder (``p2-1/skin.glb``); macOS resource forks (``__MACOSX/``, ``._*``) and
``.DS_Store`` are ignored.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from .errors import OfficialZipError

MAX_ZIP_BYTES = 512 << 20
MAX_MEMBERS = 256
MAX_MEMBER_BYTES = 256 << 20
MAX_TOTAL_BYTES = 512 << 20
MAX_RATIO = 200            # uncompressed / compressed, for members over RATIO_FLOOR bytes
RATIO_FLOOR = 1 << 16

REQUIRED = ("skin.glb", "offset.ply")
OPTIONAL = ("animation.glb", "vertex_order.json", "bsData.json")


def _ignored(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1] == ".DS_Store" or parts[-1].startswith("._"))


def _check_name(where: str, name: str) -> None:
    bad = ("\\" in name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":")
           or any(p == ".." for p in name.split("/")))
    if bad:
        raise OfficialZipError(f"{where}: member {name!r} has an unsafe name (absolute, '..', drive or backslash)")


def read_members(path: str | os.PathLike) -> tuple[dict[str, bytes], str]:
    """The avatar members of the zip at ``path`` (by base name: ``skin.glb``, ``offset.ply``, ...) as bytes,
    and the avatar's folder name inside the zip ('' at the root)."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise OfficialZipError(f"{p} is a directory, expected an official LAM avatar zip")
    if not p.is_file():
        raise OfficialZipError(f"official avatar zip not found: {p}")
    if p.stat().st_size > MAX_ZIP_BYTES:
        raise OfficialZipError(f"{p}: larger than {MAX_ZIP_BYTES >> 20} MiB")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise OfficialZipError(f"{p}: not a readable zip ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise OfficialZipError(f"{p}: {len(infos)} members is more than {MAX_MEMBERS}")
        total = 0
        wanted: dict[str, zipfile.ZipInfo] = {}
        folders = set()
        for info in infos:
            _check_name(str(p), info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise OfficialZipError(f"{p}: member {info.filename!r} is a symbolic link")
            if info.is_dir() or _ignored(info.filename):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise OfficialZipError(f"{p}: member {info.filename!r} inflates to {info.file_size} bytes "
                                       f"(limit {MAX_MEMBER_BYTES >> 20} MiB)")
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise OfficialZipError(f"{p}: member {info.filename!r} is compressed "
                                       f"{info.file_size // max(info.compress_size, 1)}:1 (a zip bomb?)")
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise OfficialZipError(f"{p}: members inflate to more than {MAX_TOTAL_BYTES >> 20} MiB in all")
            parts = PurePosixPath(info.filename).parts
            base = parts[-1]
            if base in REQUIRED + OPTIONAL and len(parts) <= 2:
                if base in wanted:
                    raise OfficialZipError(f"{p}: more than one {base}")
                wanted[base] = info
                folders.add("/".join(parts[:-1]))
        missing = [m for m in REQUIRED if m not in wanted]
        if missing:
            raise OfficialZipError(f"{p}: missing member {missing[0]} (an official LAM avatar zip holds "
                                   f"{', '.join(REQUIRED + OPTIONAL[:2])})")
        if len(folders) > 1:
            raise OfficialZipError(f"{p}: the avatar's members are in different folders ({sorted(folders)})")
        out = {}
        for base, info in wanted.items():
            try:
                with zf.open(info) as f:
                    data = f.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
                raise OfficialZipError(f"{p}: member {info.filename!r} cannot be read ({exc})") from None
            if len(data) != info.file_size:
                raise OfficialZipError(f"{p}: member {info.filename!r} inflates to a size other than declared")
            out[base] = data
        return out, folders.pop()


def pack_members(members: dict[str, bytes], folder: str) -> bytes:
    """Zip bytes holding ``members`` under ``folder/`` (deflated), the layout the official renderer reads."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        if folder:
            zf.writestr(zipfile.ZipInfo(folder + "/"), b"")
        for name, data in members.items():
            zf.writestr(f"{folder}/{name}" if folder else name, data)
    return buf.getvalue()
