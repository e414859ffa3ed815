"""Reading ``.npz`` files from users without trusting them: no pickles, and no allocation the file's bytes
do not back.

``numpy.load`` allocates each array from the shape its ``.npy`` header declares before reading the data, so a
small, highly compressed file could ask for terabytes. :func:`load_npz` first walks the zip directory and
every member's ``.npy`` header: the uncompressed sizes must stay under a cap, each declared array must fit in
its member's uncompressed size, and object arrays (pickles) are refused; only then is anything loaded.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .errors import LamError

MAX_MEMBERS = 1024
DEFAULT_MAX_BYTES = 2 << 30  # uncompressed, all arrays together


def load_npz(path: str | os.PathLike, error: type[LamError] = LamError,
             max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (name -> array), checked as the module doc says; ``error`` is raised,
    naming the file, for anything wrong."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > MAX_MEMBERS:
                raise error(f"{p}: {len(infos)} arrays is more than {MAX_MEMBERS}")
            total = sum(i.file_size for i in infos)
            if total > max_bytes:
                raise error(f"{p}: {total:,} bytes of arrays is more than the {max_bytes:,} allowed")
            for info in infos:
                with zf.open(info) as f:
                    version = npy_format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = npy_format.read_array_header_1_0(f)
                    elif version in ((2, 0), (3, 0)):
                        shape, _, dtype = npy_format.read_array_header_2_0(f)
                    else:
                        raise error(f"{p}: {info.filename} has an unsupported .npy version {version}")
                if dtype.hasobject:
                    raise error(f"{p}: {info.filename} holds Python objects (pickles are not allowed)")
                need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize if shape else dtype.itemsize
                if need > info.file_size:
                    raise error(f"{p}: {info.filename} declares {need:,} bytes of data but holds {info.file_size:,}")
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except LamError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError, NotImplementedError) as exc:
        raise error(f"{p}: not a readable npz ({type(exc).__name__}: {exc})") from None
