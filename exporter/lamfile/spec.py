"""Constants of the ``.lam`` format (docs/lam-format.md): magic, version, record layouts, chunk tags, the
arrays each chunk may hold and the caps every reader enforces. The JavaScript reader
(viewer_web/src/lam_reader.js) carries the same numbers; a test checks they agree.
"""

from __future__ import annotations

import struct

from lam_core.errors import LamError


class LamFileError(LamError):
    """A .lam file is missing, truncated, corrupt, of an unsupported version or over a limit."""


MAGIC = b"\x89LAM\r\n\x1a\n"
VERSION_MAJOR = 1
VERSION_MINOR = 0

# preamble: magic, u16 major, u16 minor, u32 header length, u32 chunk count, u32 crc32(preamble[0:20] + header)
PREAMBLE = struct.Struct("<8sHHIII")
# chunk header: 4-byte tag, u32 flags, u32 stored length, u32 raw length, u32 crc32(bytes 0..15 + stored), u32 0
CHUNK_HEADER = struct.Struct("<4sIIIII")
ALIGN = 8
FLAG_DEFLATE = 1

# caps (both readers; the writer refuses to write beyond them)
MAX_FILE_BYTES = 1 << 30
MAX_HEADER_BYTES = 4 << 20
MAX_HEADER_VALUES = 1 << 15      # JSON values in the header ('[', '{' and ',' counted, strings included)
MAX_CHUNKS = 256
MAX_RAW_BYTES = 1 << 30           # all chunks' raw (decompressed) bytes together
RAW_EXPANSION = 16                # ... and at most this many times the file size, plus RAW_SLACK
RAW_SLACK = 4 << 20
MAX_GAUSSIANS = 1 << 24
MAX_VERTICES = 1 << 24
MAX_FACES = 1 << 25
MAX_JOINTS = 1024
MAX_CHANNELS = 8192
MAX_NAME_CHARS = 256
MAX_BIND_K = 16
MAX_SKIN_K = 16
MAX_LANDMARKS = 1 << 16
MAX_SUBDIVISION_LEVELS = 3
MAX_ARRAY_DIMS = 4

DTYPES = {"u8": "<u1", "i8": "<i1", "u16": "<u2", "i16": "<i2", "u32": "<u4", "i32": "<i4", "f32": "<f4"}
DTYPE_SIZE = {"u8": 1, "i8": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4}

# tags: first letter upper case = critical (a reader that does not know it must refuse the file),
# lower case = ancillary (skipped when unknown)
GAUS, BIND, MESH, JOIN, SKIN, EXPR, POSE = "GAUS", "BIND", "MESH", "JOIN", "SKIN", "EXPR", "POSE"
LMKS, THMB, PFAC = "lmks", "thmb", "pfac"
REQUIRED = (GAUS, MESH, JOIN, SKIN, EXPR, POSE)  # + BIND when the binding is sparse
KNOWN = REQUIRED + (BIND, LMKS, THMB, PFAC)

# What each array of a known chunk may be: name -> (allowed (dtype, encoding) pairs, required?).
# Encodings: raw (the numbers themselves), linear (min + q * step per component), table (table[q]),
# smallest3 (packed unit quaternion), fraction (q / denominator), channel_scaled (q * scale[channel]).
LAYOUT: dict[str, dict[str, tuple[frozenset[tuple[str, str]], bool]]] = {
    GAUS: {
        "offset": (frozenset({("f32", "raw"), ("u16", "linear")}), True),
        "color": (frozenset({("f32", "raw"), ("u8", "linear"), ("u16", "linear")}), True),
        "opacity": (frozenset({("f32", "raw"), ("u8", "linear"), ("u16", "linear")}), True),
        "scale": (frozenset({("f32", "raw"), ("u8", "table"), ("u16", "table")}), True),
        "scale_table": (frozenset({("f32", "raw")}), False),
        "rotation": (frozenset({("f32", "raw"), ("u32", "smallest3")}), True),
    },
    BIND: {
        "index": (frozenset({("u16", "raw"), ("u32", "raw")}), True),
        "weight": (frozenset({("f32", "raw"), ("u16", "fraction")}), True),
    },
    MESH: {
        "vertices": (frozenset({("f32", "raw"), ("u16", "linear")}), True),
        "faces": (frozenset({("u16", "raw"), ("u32", "raw")}), True),
    },
    JOIN: {
        "positions": (frozenset({("f32", "raw")}), True),
        "exprdirs": (frozenset({("f32", "raw")}), True),
    },
    SKIN: {
        "index": (frozenset({("u8", "raw"), ("u16", "raw")}), True),
        "weight": (frozenset({("f32", "raw"), ("u16", "fraction")}), True),
    },
    EXPR: {
        "ptr": (frozenset({("u32", "raw")}), True),
        "index": (frozenset({("u16", "raw"), ("u32", "raw")}), True),
        "delta": (frozenset({("f32", "raw"), ("i8", "channel_scaled"), ("i16", "channel_scaled")}), True),
        "scale": (frozenset({("f32", "raw")}), False),
    },
    LMKS: {
        "ids": (frozenset({("u16", "raw"), ("u32", "raw")}), True),
        "faces": (frozenset({("u16", "raw"), ("u32", "raw")}), True),
        "bary": (frozenset({("f32", "raw")}), True),
    },
    THMB: {"image": (frozenset({("u8", "raw")}), True)},
    PFAC: {"faces": (frozenset({("u16", "raw"), ("u32", "raw")}), True)},
}
LAYOUT[POSE] = LAYOUT[EXPR]

THUMBNAIL_MIMES = ("image/png", "image/jpeg", "image/webp")
ENCODINGS = ("quantised", "lossless")


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def is_critical(tag: str) -> bool:
    return tag[:1].isupper()


def max_raw_bytes(file_size: int) -> int:
    """The most raw (decompressed) chunk bytes a file of ``file_size`` bytes may declare."""
    return min(MAX_RAW_BYTES, RAW_EXPANSION * file_size + RAW_SLACK)
