"""Checking an uploaded photo before it is queued.

The client's file name is only ever shown (cleaned, shortened), never used as a path: the bytes are written
as ``photo.<format>`` inside the job's own folder, the format being what Pillow recognises in them. The photo
is decoded once here through :func:`lam_core.photo.load_photo` (header checked first: the pixel limit holds
before anything is decoded, decompression bombs and truncated files are refused), so a bad upload is a 4xx
now rather than a failed job later.
"""

from __future__ import annotations

import re
from pathlib import Path

from lam_core.photo import PhotoError, load_photo

from .limits import ServiceError

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif",
           "MPO": ".jpg"}
NAME_LIMIT = 80
BOMB = ("bomb", 0, 0)   # sniff(): Pillow refused the header's size outright


def display_name(filename: str | None) -> str:
    """What the client called the file, safe to show: the last path part, printable characters only."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = re.sub(r"[^\w .()+,-]", "_", name).strip(" .") or "photo"
    return name if len(name) <= NAME_LIMIT else name[:NAME_LIMIT - 1] + "…"


def sniff(data: bytes) -> tuple[str, int, int] | None:
    """Pillow's format name and the size its header states (nothing is decoded), or None; a size far beyond
    Pillow's own bomb limit is reported as (format "?", 0, 0) with ``BOMB`` pixels."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.format, *im.size
    except Image.DecompressionBombError:
        return BOMB
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def save_photo(stream, folder: Path, name: str, max_pixels: int) -> Path:
    """Write the uploaded ``stream`` into ``folder`` and check it is a usable photo; returns its path.
    Raises :class:`ServiceError` (400 not an image / unsupported, 413 too many pixels, 422 corrupt)."""
    data = stream.read()
    if not data:
        raise ServiceError(f"{name}: the file is empty")
    found = sniff(data)
    if found == BOMB:
        raise ServiceError(f"{name}: the image claims far more than the {max_pixels:,} pixels this service accepts",
                           413)
    if found is None or found[0] not in FORMATS:
        what = "not an image" if found is None else f"a {found[0]} image, not a photo format this service reads"
        raise ServiceError(f"{name}: {what} (send a JPEG, PNG or WebP photo)", 415)
    fmt, w, h = found
    if w * h > max_pixels:
        raise ServiceError(f"{name}: {w}x{h} pixels is more than the {max_pixels:,} this service accepts", 413)
    path = folder / f"photo{FORMATS[fmt]}"
    path.write_bytes(data)
    try:
        load_photo(path, max_pixels=max_pixels)
    except PhotoError as exc:
        raise ServiceError(str(exc).replace(str(path), name), 422) from None
    return path
