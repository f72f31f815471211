"""Record readers, one per file format: bytes in, :class:`RawRecord` out.

A reader never raises on bad content: a record it cannot use comes out with a
``fate`` (status and ``input:*`` reason) so the ledger still accounts for it. When a
file breaks in the middle (truncated gzip, malformed WARC), the unread rest of the
file becomes one quarantined record at the offset where reading stopped.

Broken input never costs unbounded memory: every read is bounded by :class:`ReadLimits`
(a line, a record, the bytes decompressed while skipping one record). A record over a
limit is skipped in bounded chunks and quarantined ``input:record_too_large`` with the
limit as evidence.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.compression import compr
from fsspec.utils import infer_compression

from connectors.retry import RetryPolicy, StoreUnreachable, is_transient, one_line
from connectors.stores import filesystem, open_input
from schemas.document import EVIDENCE, Status

# HTTP headers kept with a web record: what opt-out checks and auditors need.
KEPT_HTTP_HEADERS = (
    "content-type",
    "content-language",
    "x-robots-tag",
    "tdm-reservation",
    "tdm-policy",
    "link",
)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<!--)", re.I)

MB = 1024 * 1024
TOO_LARGE = "input:record_too_large"
_CHUNK = 1024 * 1024  # bytes per read while streaming lines or skipping an oversized record


@dataclass(frozen=True)
class ReadLimits:
    """The most one record may cost a reader, in MiB (a source's ``limits`` in the config).

    ``record_mb`` bounds a record's text or payload (a JSON text field, a WARC payload, a Parquet or
    CSV cell, a whole text / HTML file); ``line_mb`` bounds a JSONL line (and a CSV line), which is
    skipped in bounded chunks when longer; ``decompressed_mb`` bounds the bytes decompressed to get
    past one oversized record of a compressed stream: a record that expands further (a decompression
    bomb) stops the reading of its file. ``None`` there: the stream is not decompressed, so skipping
    costs only reading and is never cut short.
    """

    record_mb: float = 32
    line_mb: float = 64
    decompressed_mb: float | None = 256

    @property
    def record_bytes(self) -> int:
        return int(self.record_mb * MB)

    @property
    def line_bytes(self) -> int:
        return int(self.line_mb * MB)

    @property
    def decompressed_bytes(self) -> int | None:
        return None if self.decompressed_mb is None else int(self.decompressed_mb * MB)


DEFAULT_LIMITS = ReadLimits()


def _mb(value: float | None) -> float | int | None:
    """A limit as the evidence shows it: ``64``, not ``64.0``."""
    return int(value) if value is not None and float(value).is_integer() else value


@dataclass(frozen=True)
class RecordFields:
    """Which field of a JSON object or a Parquet / CSV row holds the text and the record's own id."""

    text: str = "text"
    id: str = "id"


@dataclass
class RawRecord:
    locator: str  # position inside the file (byte offset, row); with the file URI it makes the id
    text: str = ""
    content_type: str = "text"  # "html" needs the extract stage; "text" is used as it is
    url: str | None = None
    license: str | None = None
    retrieved_at: str | None = None
    content_sha256: str | None = None
    source_id: str | None = None  # the record's own id (id field, WARC-Record-ID)
    extra: dict[str, Any] = field(default_factory=dict)
    fate: tuple[Status, str] | None = None  # set when the record cannot be curated


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _quarantine(locator: str, reason: str, source_id: str | None = None, **evidence: Any) -> RawRecord:
    extra = {EVIDENCE: evidence} if evidence else {}
    return RawRecord(locator=locator, fate=(Status.QUARANTINED, reason), source_id=source_id, extra=extra)


def _record_id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return _str_or_none(str(value))


def _text_record(
    locator: str,
    row: dict[str, Any],
    fields: RecordFields,
    payload: bytes | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> RawRecord:
    text, source_id = row.get(fields.text), _record_id(row.get(fields.id))
    if text is None:
        return _quarantine(locator, "input:missing_text", source_id)
    if not isinstance(text, str):
        return _quarantine(locator, "input:text_not_a_string", source_id)
    try:
        encoded = text.encode("utf-8") if payload is None else payload
    except UnicodeEncodeError:
        return _quarantine(locator, "input:invalid_unicode", source_id)  # lone surrogates from JSON escapes
    if len(encoded) > limits.record_bytes:
        return _quarantine(
            locator, TOO_LARGE, source_id, limit_mb=_mb(limits.record_mb), size_bytes=len(encoded)
        )
    record = RawRecord(
        locator=locator,
        text=text,
        url=_str_or_none(row.get("url")),
        license=_str_or_none(row.get("license")),
        content_sha256=sha256_hex(encoded),
        source_id=source_id,
    )
    if not text or text.isspace():  # as `not text.strip()`, without copying the text
        record.fate = (Status.QUARANTINED, "input:empty_text")
    return record


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value and _encodable(value) else None


def _read_failure(exc: BaseException) -> str:
    if isinstance(exc, EOFError | zlib.error) or "compressed" in str(exc).lower():
        return "input:truncated_file"
    if isinstance(exc, UnicodeDecodeError):
        return "input:invalid_utf8"
    return "input:unreadable_file"


# ---------------------------------------------------------------- line- and table-shaped formats


class _LineReader:
    """The lines of a byte stream, each read with a size bound, through plain ``read(n)`` calls.

    Streams differ in what they offer (fsspec's remote files have no bounded ``readline``, zstd
    readers no lines at all); ``read(n)`` is what they share, and it keeps every read bounded.
    """

    def __init__(self, stream: IO[bytes]):
        # read1 returns what one underlying read gives: a file cut short still yields the lines
        # before the cut, as line iteration does. Streams without it are read in plain chunks.
        self._read = getattr(stream, "read1", stream.read)
        self._buffer = b""
        self._pos = 0

    def readline(self, size: int) -> bytes:
        """The next line with its newline, or its first ``size`` bytes when longer; ``b""`` at the end."""
        end = self._buffer.find(b"\n", self._pos, self._pos + size)
        if end >= 0:  # the common case: the whole line is in the buffer
            line, self._pos = self._buffer[self._pos : end + 1], end + 1
            return line
        parts: list[bytes] = []
        wanted = size
        while True:
            end = self._buffer.find(b"\n", self._pos, self._pos + wanted)
            if end >= 0:
                parts.append(self._buffer[self._pos : end + 1])
                self._pos = end + 1
                break
            available = len(self._buffer) - self._pos
            if available >= wanted:
                parts.append(self._buffer[self._pos : self._pos + wanted])
                self._pos += wanted
                break
            parts.append(self._buffer[self._pos :])
            wanted -= available
            self._buffer, self._pos = self._read(_CHUNK), 0
            if not self._buffer:
                break
        return b"".join(parts)

    def skip_line(self, cap: int | None) -> tuple[int, bool]:
        """Read past the rest of a line in bounded chunks: (bytes skipped, whether its end was reached).

        Stops early, with ``False``, once more than ``cap`` bytes were skipped.
        """
        skipped = 0
        while cap is None or skipped <= cap:
            chunk = self.readline(_CHUNK)
            skipped += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return skipped, True
        return skipped, False


def read_jsonl(
    stream: IO[bytes],
    fields: RecordFields,
    start: int = 0,
    end: int | None = None,
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Iterator[RawRecord]:
    """Lines whose first byte lies in ``[start, end)``; the locator is the line's byte offset in the file.

    A line longer than ``limits.line_mb`` is skipped without being held in memory. When skipping it
    would decompress more than ``limits.decompressed_mb``, reading stops there: that line stands for
    the unread rest of the file.
    """
    lines = _LineReader(stream)
    offset = start
    max_line, cap = limits.line_bytes, limits.decompressed_bytes
    try:
        if start:
            stream.seek(start - 1)
            rest, _ = lines.skip_line(None)  # the rest of the line before `start` is another unit's
            offset = start - 1 + rest
        while line := lines.readline(max_line + 1):
            if end is not None and offset >= end:
                break
            locator = str(offset)
            if len(line) > max_line and not line.endswith(b"\n"):
                skipped, complete = lines.skip_line(None if cap is None else cap - len(line))
                if not complete:
                    yield _quarantine(
                        locator,
                        TOO_LARGE,
                        limit_mb=_mb(limits.decompressed_mb),
                        read_bytes=len(line) + skipped,
                        rest_of_file_unread=True,
                    )
                    return
                offset += len(line) + skipped
                yield _quarantine(
                    locator, TOO_LARGE, limit_mb=_mb(limits.line_mb), size_bytes=len(line) + skipped
                )
                continue
            offset += len(line)
            if line.isspace():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                # orjson is stricter than json (lone surrogate escapes, NaN, huge numbers): the
                # standard library decides what a line it rejects is, so fates stay the same.
                try:
                    obj = json.loads(line.decode("utf-8"))
                except UnicodeDecodeError:
                    yield _quarantine(locator, "input:invalid_utf8")
                    continue
                except json.JSONDecodeError:
                    yield _quarantine(locator, "input:invalid_json")
                    continue
            if not isinstance(obj, dict):
                yield _quarantine(locator, "input:not_an_object")
                continue
            yield _text_record(locator, obj, fields, limits=limits)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        yield _quarantine(str(offset), _read_failure(exc), error=str(exc)[:200])


def _is_bytes_like(kind: pa.DataType) -> bool:
    return any(
        test(kind)
        for test in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_binary,
            pa.types.is_large_binary,
        )
    )


def _oversized_rows(batch: pa.RecordBatch, limit: int) -> tuple[pa.RecordBatch, dict[int, str]]:
    """The batch with every string / binary cell over ``limit`` bytes nulled, and {row: its column}.

    Nulling happens in Arrow, so an oversized cell is never copied into a Python string.
    """
    oversized: dict[int, str] = {}
    columns = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        kind = column.type
        if _is_bytes_like(kind):
            mask = pc.fill_null(pc.greater(pc.binary_length(column), limit), False)
            if pc.any(mask).as_py():
                for row, over in enumerate(mask.to_pylist()):
                    if over:
                        oversized.setdefault(row, name)
                column = pc.if_else(mask, pa.scalar(None, kind), column)
        columns.append(column)
    if not oversized:
        return batch, oversized
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names), oversized


def read_parquet(
    stream: IO[bytes], fields: RecordFields, *, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[RawRecord]:
    try:
        table_file = pq.ParquetFile(stream)
    except StoreUnreachable:
        raise
    except Exception as exc:  # pyarrow raises several types for a broken footer
        yield _quarantine("0", "input:unreadable_file", error=str(exc)[:200])
        return
    names = set(table_file.schema_arrow.names)
    columns = [c for c in dict.fromkeys((fields.text, fields.id, "url", "license")) if c in names]
    if fields.text not in names:
        for row in range(table_file.metadata.num_rows):
            yield _quarantine(f"row:{row}", "input:missing_text")
        return
    row = 0
    for batch in table_file.iter_batches(columns=columns, batch_size=4096):
        batch, oversized = _oversized_rows(batch, limits.record_bytes)
        for index, values in enumerate(batch.to_pylist()):
            if index in oversized:
                yield _quarantine(
                    f"row:{row}",
                    TOO_LARGE,
                    _record_id(values.get(fields.id)),
                    limit_mb=_mb(limits.record_mb),
                    column=oversized[index],
                )
            else:
                yield _text_record(f"row:{row}", values, fields, limits=limits)
            row += 1


class _LineTooLong(ValueError):
    """A CSV line longer than the line limit: the reader cannot find the next row safely."""


def _bounded_lines(text: IO[str], limit: int) -> Iterator[str]:
    """The lines of ``text``, each read with a bound; :class:`_LineTooLong` for a longer one."""
    while line := text.readline(limit + 1):
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise _LineTooLong(f"a line longer than {limit} characters")
        yield line


def read_csv(
    stream: IO[bytes], fields: RecordFields, *, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[RawRecord]:
    """Rows of a CSV file with a header line; a line or a cell over its limit stops the file there.

    The csv module's field limit is the record limit here (in characters; it is process-wide, and
    every reader sets it before it reads). A row over a limit cannot be skipped reliably (a quoted
    cell may span lines), so it stands for the unread rest of the file.
    """
    csv.field_size_limit(limits.record_bytes)
    text_stream = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    row = 0
    try:
        for values in csv.DictReader(_bounded_lines(text_stream, limits.line_bytes)):
            yield _text_record(f"row:{row}", values, fields, limits=limits)
            row += 1
    except _LineTooLong:
        yield _quarantine(f"row:{row}", TOO_LARGE, limit_mb=_mb(limits.line_mb), rest_of_file_unread=True)
    except csv.Error as exc:
        if "field limit" in str(exc):
            yield _quarantine(
                f"row:{row}", TOO_LARGE, limit_mb=_mb(limits.record_mb), rest_of_file_unread=True
            )
        else:
            yield _quarantine(f"row:{row}", _read_failure(exc), error=str(exc)[:200])
    except (UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
        yield _quarantine(f"row:{row}", _read_failure(exc), error=str(exc)[:200])


def _read_whole(stream: IO[bytes], limits: ReadLimits) -> bytes | None:
    """A one-record file's bytes, or None when it is larger than the record limit (read no further)."""
    payload = stream.read(limits.record_bytes + 1)
    return None if len(payload) > limits.record_bytes else payload


def read_text(
    stream: IO[bytes], fields: RecordFields, *, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[RawRecord]:
    payload = _read_whole(stream, limits)
    if payload is None:
        yield _quarantine("0", TOO_LARGE, limit_mb=_mb(limits.record_mb))
        return
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        yield _quarantine("0", "input:invalid_utf8")
        return
    yield _text_record("0", {fields.text: text}, fields, payload, limits=limits)


def read_html(
    stream: IO[bytes], fields: RecordFields, *, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[RawRecord]:
    payload = _read_whole(stream, limits)
    if payload is None:
        yield _quarantine("0", TOO_LARGE, limit_mb=_mb(limits.record_mb))
        return
    yield _web_record("0", payload, "text/html", url=None)


# ---------------------------------------------------------------- web archives


def decode_html(payload: bytes, declared: str | None) -> str:
    """Decode a page: declared charset, then ``<meta charset>``, then UTF-8, then Windows-1252."""
    candidates = [declared]
    if match := _META_CHARSET.search(payload[:4096]):
        candidates.append(match.group(1).decode("ascii", "ignore"))
    for charset in [*candidates, "utf-8"]:
        if not charset:
            continue
        try:
            return payload.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    return payload.decode("cp1252", errors="replace")


def _web_record(
    locator: str, payload: bytes, content_type: str | None, url: str | None, **fields: Any
) -> RawRecord:
    mime = (content_type or "").split(";")[0].strip().lower()
    if not mime and _HTML_START.match(payload[:512]):
        mime = "text/html"
    charset_match = _CHARSET.search(content_type or "")
    charset = charset_match.group(1) if charset_match else None
    if not payload.strip():
        record = _quarantine(locator, "input:empty_payload", fields.get("source_id"))
        record.url = url
        return record
    if "html" in mime:
        kind = "html"
    elif mime == "text/plain":
        kind = "text"
    else:
        record = _quarantine(
            locator, "input:unsupported_content_type", fields.get("source_id"), content_type=mime or "unknown"
        )
        record.url = url
        return record
    text = decode_html(payload, charset) if kind == "html" else payload.decode(charset or "utf-8", "replace")
    return RawRecord(
        locator=locator,
        text=text,
        content_type=kind,
        url=url,
        content_sha256=sha256_hex(payload),
        **fields,
    )


def _warc_date(value: str | None) -> str | None:
    """WARC-Date (ISO) or ARC's 14-digit date -> ISO-8601 UTC."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.isdigit() and len(value) >= 14:
            return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat()
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).isoformat()
    except ValueError:
        return None


def _drain(stream: IO[bytes], cap: int | None) -> bool:
    """Read ``stream`` to its end in bounded chunks; False when more than ``cap`` bytes came first."""
    drained = 0
    while chunk := stream.read(_CHUNK):
        drained += len(chunk)
        if cap is not None and drained > cap:
            return False
    return True


def read_warc(
    stream: IO[bytes],
    fields: RecordFields,
    start: int = 0,
    end: int | None = None,
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Iterator[RawRecord]:
    """WARC, ARC and WET: response / resource / conversion records are documents.

    Reads the records that start in ``[start, end)``; ``start`` must be a record (gzip member) start.
    A payload over ``limits.record_mb`` is read no further than the limit and quarantined; one whose
    record decompresses beyond ``limits.decompressed_mb`` stops the reading of the file there.
    """
    from warcio.archiveiterator import ArchiveIterator

    if start:
        stream.seek(start)
    iterator = ArchiveIterator(stream, arc2warc=True)  # offsets count from the stream position: absolute
    offset = start
    try:
        for record in iterator:
            if end is not None and iterator.offset >= end:  # this record's start, before it is read
                break
            if record.rec_type not in ("response", "resource", "conversion", "revisit"):
                offset = iterator.get_record_offset()
                continue  # warcinfo, request, metadata: not documents
            record_start = iterator.offset
            # The payload must be read before asking for the offset: warcio skips to the record's end.
            payload = record.content_stream().read(limits.record_bytes + 1)
            if len(payload) > limits.record_bytes:
                payload = b""
                cap = limits.decompressed_bytes
                if not _drain(record.raw_stream, None if cap is None else cap - limits.record_bytes):
                    too_large = _quarantine(
                        str(record_start),
                        TOO_LARGE,
                        _warc_record_id(record),
                        limit_mb=_mb(limits.decompressed_mb),
                        rest_of_file_unread=True,
                    )
                    too_large.url = record.rec_headers.get_header("WARC-Target-URI")
                    yield too_large
                    return
                offset = iterator.get_record_offset()
                too_large = _quarantine(
                    str(offset), TOO_LARGE, _warc_record_id(record), limit_mb=_mb(limits.record_mb)
                )
                too_large.url = record.rec_headers.get_header("WARC-Target-URI")
                yield too_large
                continue
            offset = iterator.get_record_offset()
            yield _warc_document(record, str(offset), payload)
    except StoreUnreachable:
        raise
    except Exception as exc:  # warcio raises ArchiveLoadFailed, ValueError, zlib/EOF errors on broken files
        yield _quarantine(f"{offset}+", "input:malformed_archive", error=f"{type(exc).__name__}: {exc}"[:200])


def _warc_record_id(record: Any) -> str | None:
    return _str_or_none((record.rec_headers.get_header("WARC-Record-ID") or "").strip("<>"))


def _warc_document(record: Any, locator: str, payload: bytes) -> RawRecord:
    url = record.rec_headers.get_header("WARC-Target-URI")
    retrieved_at = _warc_date(record.rec_headers.get_header("WARC-Date"))
    source_id = _warc_record_id(record)
    if record.rec_type == "revisit":
        return RawRecord(
            locator=locator, url=url, source_id=source_id, fate=(Status.FILTERED, "input:warc_revisit")
        )
    headers: dict[str, str] = {}
    content_type = record.rec_headers.get_header("Content-Type")
    if record.rec_type == "conversion":
        content_type = "text/plain; charset=utf-8"
    elif record.rec_type == "response" and record.http_headers is not None:
        status = record.http_headers.get_statuscode()
        if status and not status.startswith("2"):
            return RawRecord(
                locator=locator,
                url=url,
                retrieved_at=retrieved_at,
                source_id=source_id,
                fate=(Status.FILTERED, f"input:http_{status}"),
            )
        content_type = record.http_headers.get_header("Content-Type")
        headers = {n.lower(): v for n, v in record.http_headers.headers if n.lower() in KEPT_HTTP_HEADERS}
    web = _web_record(locator, payload, content_type, url, retrieved_at=retrieved_at, source_id=source_id)
    if headers:
        web.extra["http_headers"] = headers
    web.extra["warc_record_type"] = record.rec_type
    return web


READERS: dict[str, Callable[..., Iterator[RawRecord]]] = {
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "csv": read_csv,
    "text": read_text,
    "html": read_html,
    "warc": read_warc,
    "arc": read_warc,
    "wet": read_warc,
}

# Formats whose reader handles (per-record) compression itself; the others get fsspec's inferred codec.
_RAW_FORMATS = {"warc", "arc", "wet", "parquet"}
# Formats whose reader can read a byte range [start, end) of a file (see connectors.splits).
RANGE_FORMATS = {"jsonl", "warc", "wet"}


def read_records(
    uri: str,
    fmt: str,
    fields: RecordFields,
    start: int = 0,
    end: int | None = None,
    storage_options: dict[str, Any] | None = None,
    retries: RetryPolicy | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Iterator[RawRecord]:
    """The records of one file (those starting in ``[start, end)`` for a split file), in file order.

    Opening and reading are retried on throttling and dropped connections (``retries``, applied by
    the one layer :mod:`connectors.stores` picks for the store; a read resumes where it stopped).
    A store that stays unreachable raises :class:`StoreUnreachable` (the task fails, and a rerun
    reads the file again); a file that cannot be opened for any other reason becomes one
    quarantined record. Reads are bounded by ``limits``; the cap on decompression applies when
    the file's name says it is compressed.
    """
    ranged = start != 0 or end is not None
    if ranged and fmt not in RANGE_FORMATS:
        raise ValueError(f"format {fmt} cannot be read by byte range")
    codec = None if fmt in _RAW_FORMATS or ranged else infer_compression(uri)
    if infer_compression(uri) is None:
        limits = replace(limits, decompressed_mb=None)
    policy = retries or RetryPolicy()
    try:
        fs, path = filesystem(uri, storage_options or {}, policy)
        raw = open_input(fs, path, policy, uri)
    except Exception as exc:  # stores raise their own types (aiohttp, botocore, huggingface_hub)
        if is_transient(exc):
            raise StoreUnreachable(uri, policy.attempts, exc) from None
        yield _quarantine(str(start), "input:unreadable_file", error=one_line(exc, 200))
        return
    with raw, compr[codec](raw, mode="rb") as stream:
        if ranged:
            yield from READERS[fmt](stream, fields, start, end, limits=limits)
        else:
            yield from READERS[fmt](stream, fields, limits=limits)
