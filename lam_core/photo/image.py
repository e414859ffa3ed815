"""Reading a user's photo safely: any common format, EXIF orientation applied, any mode turned into RGB,
and limits against decompression bombs and images too small to hold a face."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import LamError

MAX_PIXELS = 50_000_000     # ~ 8K x 6K; a larger photo is refused before it is decoded
MAX_SIDE = 16384            # ... and a longer side (a panorama): the .lam records the photo's camera, at most this
MIN_SIDE = 64               # pixels
MAX_FILE_BYTES = 200 << 20


class PhotoError(LamError):
    """The photo cannot be used (not an image, corrupt, too large or small, no usable face)."""


def load_photo(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The photo as an (H, W, 3) uint8 RGB array, upright (EXIF orientation applied).

    Transparent areas are composited onto white; greyscale, palette and CMYK images are converted.
    """
    p = Path(path)
    if not p.is_file():
        raise PhotoError(f"photo not found: {p}")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise PhotoError(f"{p}: file larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise PhotoError(f"{p}: {w}x{h} pixels is more than the {max_pixels:,} allowed")
                if max(w, h) > MAX_SIDE:
                    raise PhotoError(f"{p}: {w}x{h} pixels is more than the {MAX_SIDE} allowed on a side")
                if min(w, h) < MIN_SIDE:
                    raise PhotoError(f"{p}: {w}x{h} pixels is too small (need at least {MIN_SIDE} on each side)")
                im.load()
                im = ImageOps.exif_transpose(im)
                rgb = _to_rgb(im)
    except PhotoError:
        raise
    except UnidentifiedImageError:
        raise PhotoError(f"{p}: not an image (or a format this tool cannot read)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"{p}: image has more than the {max_pixels:,} pixels allowed") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PhotoError(f"{p}: corrupt or truncated image ({exc})") from None
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        a = 255 * (a - a.min()) / max(a.max() - a.min(), 1)
        return Image.fromarray(a.astype(np.uint8)).convert("RGB")
    return im.convert("RGB")
