"""The ``.lam`` avatar file (docs/lam-format.md): one compact, versioned binary holding canonical Gaussians,
how they follow the base mesh, and the rig that animates it, for Python and the browser viewer alike.

    write_lam(path, avatar)            # quantised and deflated (lossless=True keeps float32)
    f = read_lam(path); f.avatar       # a lam_core.GaussianAvatar, plus header, chunks, thumbnail, meta
"""

from .reader import ChunkInfo, LamFile, decode_lam, inspect_lam, read_lam
from .spec import LamFileError
from .writer import Quantisation, encode_lam, write_lam

__all__ = ["ChunkInfo", "LamFile", "LamFileError", "Quantisation", "decode_lam", "encode_lam", "inspect_lam",
           "read_lam", "write_lam"]
