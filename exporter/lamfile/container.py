"""The container layer of ``.lam``: preamble, JSON header, chunk framing, CRC32 and guarded deflate.

Nothing here knows what the chunks mean. :func:`parse` checks every length against the bytes actually
present and every cap before anything is allocated, verifies both checksums and returns the header and the
chunks' stored bytes as views; :meth:`Chunk.raw` inflates a chunk into at most its declared raw length.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

from . import spec
from .spec import LamFileError


@dataclass(frozen=True)
class Chunk:
    tag: str
    flags: int
    offset: int       # file offset of the chunk header
    stored_len: int
    raw_len: int
    stored: memoryview

    @property
    def readable(self) -> bool:
        """False for an ancillary chunk with flags this reader does not know (it is skipped)."""
        return not self.flags & ~spec.FLAG_DEFLATE

    @property
    def compressed(self) -> bool:
        return bool(self.flags & spec.FLAG_DEFLATE)

    def raw(self) -> bytes | memoryview:
        """The chunk's raw payload: the stored bytes, or them inflated (never more than ``raw_len``)."""
        if not self.compressed:
            return self.stored
        return inflate(self.stored, self.raw_len, self.tag)


@dataclass(frozen=True)
class Container:
    version: tuple[int, int]
    header: dict
    header_len: int
    chunks: list[Chunk]
    file_size: int


def inflate(data: bytes | memoryview, raw_len: int, what: str) -> bytes:
    """Inflate a zlib stream that must produce exactly ``raw_len`` bytes (a larger output is refused
    after ``raw_len + 1`` bytes: no decompression bomb)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, raw_len + 1)
    except zlib.error as exc:
        raise LamFileError(f"chunk {what}: corrupt deflate stream ({exc})") from None
    if len(out) != raw_len or not d.eof or d.unused_data or d.unconsumed_tail:
        raise LamFileError(f"chunk {what}: deflate stream does not hold exactly the declared {raw_len} bytes")
    return out


def deflate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


def _check_tag(raw: bytes, where: str) -> str:
    if len(raw) != 4 or not all(65 <= b <= 90 or 97 <= b <= 122 for b in raw):
        raise LamFileError(f"{where}: chunk tag {raw!r} is not four ASCII letters")
    return raw.decode("ascii")


def parse(data: bytes | memoryview) -> Container:
    """Check the framing of a whole .lam file held in memory; raise LamFileError on the first problem."""
    buf = memoryview(data).cast("B")
    size = len(buf)
    if size > spec.MAX_FILE_BYTES:
        raise LamFileError(f"file is {size} bytes; the limit is {spec.MAX_FILE_BYTES}")
    if size < spec.PREAMBLE.size:
        if bytes(buf[: len(spec.MAGIC)]) != spec.MAGIC[:size]:
            raise LamFileError("not a .lam file (wrong magic bytes)")
        raise LamFileError(f"file is truncated ({size} bytes, shorter than the {spec.PREAMBLE.size}-byte preamble)")
    magic, major, minor, header_len, n_chunks, crc = spec.PREAMBLE.unpack_from(buf, 0)
    if magic != spec.MAGIC:
        raise LamFileError("not a .lam file (wrong magic bytes)")
    if major != spec.VERSION_MAJOR:
        raise LamFileError(f".lam version {major}.{minor} is not supported (this reader reads "
                           f"{spec.VERSION_MAJOR}.x)")
    if header_len % spec.ALIGN or not 2 <= header_len <= spec.MAX_HEADER_BYTES:
        raise LamFileError(f"header length {header_len} is invalid (a multiple of {spec.ALIGN}, "
                           f"at most {spec.MAX_HEADER_BYTES})")
    pos = spec.PREAMBLE.size
    if header_len > size - pos:
        raise LamFileError(f"file is truncated (the header needs {header_len} bytes, {size - pos} left)")
    if n_chunks > spec.MAX_CHUNKS:
        raise LamFileError(f"{n_chunks} chunks declared; the limit is {spec.MAX_CHUNKS}")
    header_bytes = buf[pos:pos + header_len]
    if zlib.crc32(header_bytes, zlib.crc32(buf[:20])) != crc:
        raise LamFileError("header checksum mismatch (the file is corrupt)")
    header = _parse_json(bytes(header_bytes))
    pos += header_len

    chunks: list[Chunk] = []
    seen: set[str] = set()
    raw_total = 0
    raw_cap = spec.max_raw_bytes(size)
    for i in range(n_chunks):
        where = f"chunk {i + 1} of {n_chunks}"
        if size - pos < spec.CHUNK_HEADER.size:
            raise LamFileError(f"file is truncated ({where} is missing)")
        tag_raw, flags, stored_len, raw_len, crc, reserved = spec.CHUNK_HEADER.unpack_from(buf, pos)
        tag = _check_tag(tag_raw, where)
        where = f"chunk {tag!r} ({i + 1} of {n_chunks})"
        if reserved != 0:
            raise LamFileError(f"{where}: reserved field is not zero")
        start = pos + spec.CHUNK_HEADER.size
        if stored_len > size - start:
            raise LamFileError(f"file is truncated ({where} declares {stored_len} bytes, {size - start} left)")
        if zlib.crc32(buf[start:start + stored_len], zlib.crc32(buf[pos:pos + 16])) != crc:
            raise LamFileError(f"{where}: checksum mismatch (the file is corrupt)")
        if tag in seen:
            raise LamFileError(f"{where}: the tag appears twice")
        seen.add(tag)
        if flags & ~spec.FLAG_DEFLATE:
            if spec.is_critical(tag):
                raise LamFileError(f"{where}: unknown flags {flags:#x} (the file needs a newer reader)")
        elif not flags & spec.FLAG_DEFLATE and raw_len != stored_len:
            raise LamFileError(f"{where}: raw length {raw_len} differs from the stored {stored_len} of an "
                               "uncompressed chunk")
        raw_total += raw_len
        if raw_total > raw_cap:
            raise LamFileError(f"{where}: the chunks declare more than {raw_cap} raw bytes for a "
                               f"{size}-byte file")
        end = spec.align(start + stored_len)
        if end > size:
            raise LamFileError(f"file is truncated ({where} lacks its padding)")
        if any(buf[start + stored_len:end]):
            raise LamFileError(f"{where}: padding bytes are not zero")
        chunks.append(Chunk(tag, flags, pos, stored_len, raw_len, buf[start:start + stored_len]))
        pos = end
    if pos != size:
        raise LamFileError(f"{size - pos} unexpected bytes after the last chunk")
    return Container((major, minor), header, header_len, chunks, size)


def _parse_json(raw: bytes) -> dict:
    values = raw.count(b"[") + raw.count(b"{") + raw.count(b",")
    if values > spec.MAX_HEADER_VALUES:
        raise LamFileError(f"header holds more than {spec.MAX_HEADER_VALUES} JSON values")
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LamFileError(f"header is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise LamFileError("header is not a JSON object")
    return header


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def pack(header: dict, chunks: list[tuple[str, bytes, bool]]) -> bytes:
    """Frame ``header`` and ``(tag, raw payload, compress?)`` chunks into a file. A chunk is stored deflated
    only when that makes it smaller."""
    text = json.dumps(header, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (spec.align(len(text)) - len(text))
    if len(text) > spec.MAX_HEADER_BYTES:
        raise LamFileError(f"header would be {len(text)} bytes; the limit is {spec.MAX_HEADER_BYTES}")
    if len(chunks) > spec.MAX_CHUNKS:
        raise LamFileError(f"{len(chunks)} chunks; the limit is {spec.MAX_CHUNKS}")
    head = spec.PREAMBLE.pack(spec.MAGIC, spec.VERSION_MAJOR, spec.VERSION_MINOR, len(text), len(chunks), 0)
    crc = zlib.crc32(text, zlib.crc32(head[:20]))
    out = [spec.PREAMBLE.pack(spec.MAGIC, spec.VERSION_MAJOR, spec.VERSION_MINOR, len(text), len(chunks), crc), text]
    for tag, raw, compress in chunks:
        stored, flags = raw, 0
        if compress and raw:
            z = deflate(raw)
            if len(z) < len(raw):
                stored, flags = z, spec.FLAG_DEFLATE
        if len(raw) >= 1 << 32:
            raise LamFileError(f"chunk {tag}: {len(raw)} bytes do not fit the format")
        ch = spec.CHUNK_HEADER.pack(tag.encode("ascii"), flags, len(stored), len(raw), 0, 0)
        crc = zlib.crc32(stored, zlib.crc32(ch[:16]))
        out.append(spec.CHUNK_HEADER.pack(tag.encode("ascii"), flags, len(stored), len(raw), crc, 0))
        out.append(stored)
        out.append(b"\0" * (spec.align(len(stored)) - len(stored)))
    data = b"".join(out)
    if len(data) > spec.MAX_FILE_BYTES:
        raise LamFileError(f"the file would be {len(data)} bytes; the limit is {spec.MAX_FILE_BYTES}")
    return data
