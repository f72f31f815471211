"""Where a large file may be cut so that several tasks read it: byte offsets that depend only on the file.

A unit ``[start, end)`` reads the records whose first byte lies in the range, so the
records, their locators (byte offsets in the file) and so their ids are the same however
a file is split.

- Uncompressed JSONL: every ``split_mb`` bytes; the reader aligns to lines itself (a unit skips
  the partial line it starts in and reads past ``end`` to finish its last line).
- WARC / WET compressed per record (``.warc.gz``): the first gzip member at or after every
  ``split_mb`` bytes, found by the gzip magic ``1f 8b 08`` and checked by decompressing the start of
  the member to a ``WARC/`` header (a chance match inside compressed data fails that check).
- Uncompressed WARC / WET: the first record start (``\\r\\n\\r\\nWARC/``) after every ``split_mb`` bytes,
  checked by parsing the header and finding the record's end where its ``Content-Length`` says.

Other files (compressed JSONL, CSV, Parquet, ARC, a WARC that is one gzip stream) are read whole.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import IO

from fsspec.utils import infer_compression

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_RECORD_START = b"\r\n\r\nWARC/"
_CHUNK = 1 << 16
SCAN_BLOCK = 1 << 20  # a store's read size while scanning: small reads near each cut, not 50 MB blocks
_CONTENT_LENGTH = re.compile(rb"^content-length:\s*(\d+)\s*$", re.I | re.M)


def split_points(
    open_file: Callable[[], IO[bytes]], path: str, size: int, fmt: str, split_mb: float
) -> list[int]:
    """Start offsets of the units of one file, ascending, the first 0; ``open_file()`` opens it to read."""
    step = max(1, int(split_mb * 1024 * 1024))
    compression = infer_compression(path)
    if fmt == "jsonl" and compression is None:
        return list(range(0, size, step))
    if fmt not in ("warc", "wet") or compression not in (None, "gzip"):
        return [0]
    find = _next_gzip_member if compression == "gzip" else _next_warc_record
    points = [0]
    with open_file() as stream:
        for candidate in range(step, size, step):
            if candidate < points[-1] + 1:
                continue
            found = find(stream, max(candidate, points[-1] + 1), min(size, candidate + step))
            if found is not None:
                points.append(found)
    return points


def _scan(
    stream: IO[bytes],
    start: int,
    stop: int,
    marker: bytes,
    skip: int,
    check: Callable[[IO[bytes], int], bool],
) -> int | None:
    """First ``offset + skip`` in [start, stop) where ``marker`` occurs and ``check(offset + skip)`` holds."""
    position = start
    while position < stop:
        stream.seek(position)
        chunk = stream.read(min(_CHUNK, stop - position) + len(marker) - 1)
        at = chunk.find(marker)
        while at != -1 and position + at < stop:
            if check(stream, position + at + skip):
                return position + at + skip
            at = chunk.find(marker, at + 1)
        position += _CHUNK
    return None


def _next_gzip_member(stream: IO[bytes], start: int, stop: int) -> int | None:
    return _scan(stream, start, stop, GZIP_MAGIC, 0, _is_warc_member)


def _next_warc_record(stream: IO[bytes], start: int, stop: int) -> int | None:
    # The record before ends in "\r\n\r\n"; look from 4 bytes back so a record starting at `start` counts.
    return _scan(stream, max(0, start - 4), stop - 4, WARC_RECORD_START, 4, _is_warc_record)


def _is_warc_member(stream: IO[bytes], offset: int) -> bool:
    stream.seek(offset)
    data = stream.read(_CHUNK)
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 16)
    except zlib.error:
        return False
    return head.startswith(b"WARC/")


def _is_warc_record(stream: IO[bytes], offset: int) -> bool:
    stream.seek(offset)
    data = stream.read(_CHUNK)
    header_end = data.find(b"\r\n\r\n")
    if not data.startswith(b"WARC/") or header_end == -1:
        return False
    header = data[:header_end]
    length = _CONTENT_LENGTH.search(header)
    if length is None or b"\nwarc-type:" not in header.lower():
        return False
    stream.seek(offset + header_end + 4 + int(length.group(1)))
    return stream.read(4) == b"\r\n\r\n"
