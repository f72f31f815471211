"""Record readers, one per file format: bytes in, :class:`RawRecord` out.

A reader never raises on bad content: a record it cannot use comes out with a
``fate`` (status and ``input:*`` reason) so the ledger still accounts for it. When a
file breaks in the middle (truncated gzip, malformed WARC), the unread rest of the
file becomes one quarantined record at the offset where reading stopped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import fsspec
import orjson
import pyarrow.parquet as pq

from connectors.retry import RetryPolicy, one_line, with_retries
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
    locator: str, row: dict[str, Any], fields: RecordFields, payload: bytes | None = None
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


def read_jsonl(
    stream: IO[bytes], fields: RecordFields, start: int = 0, end: int | None = None
) -> Iterator[RawRecord]:
    """Lines whose first byte lies in ``[start, end)``; the locator is the line's byte offset in the file."""
    offset = start
    if start:
        stream.seek(start - 1)
        offset = start - 1 + len(stream.readline())  # the rest of the line before `start` is another unit's
    try:
        for line in stream:
            if end is not None and offset >= end:
                break
            locator, offset = str(offset), offset + len(line)
            if not line or line.isspace():
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
            yield _text_record(locator, obj, fields)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        yield _quarantine(str(offset), _read_failure(exc), error=str(exc)[:200])


def read_parquet(stream: IO[bytes], fields: RecordFields) -> Iterator[RawRecord]:
    try:
        table_file = pq.ParquetFile(stream)
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
        for values in batch.to_pylist():
            yield _text_record(f"row:{row}", values, fields)
            row += 1


def read_csv(stream: IO[bytes], fields: RecordFields) -> Iterator[RawRecord]:
    text_stream = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    row = 0
    try:
        for values in csv.DictReader(text_stream):
            yield _text_record(f"row:{row}", values, fields)
            row += 1
    except (UnicodeDecodeError, csv.Error, OSError, EOFError, zlib.error) as exc:
        yield _quarantine(f"row:{row}", _read_failure(exc), error=str(exc)[:200])


def read_text(stream: IO[bytes], fields: RecordFields) -> Iterator[RawRecord]:
    payload = stream.read()
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        yield _quarantine("0", "input:invalid_utf8")
        return
    yield _text_record("0", {fields.text: text}, fields, payload)


def read_html(stream: IO[bytes], fields: RecordFields) -> Iterator[RawRecord]:
    payload = stream.read()
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


def read_warc(
    stream: IO[bytes], fields: RecordFields, start: int = 0, end: int | None = None
) -> Iterator[RawRecord]:
    """WARC, ARC and WET: response / resource / conversion records are documents.

    Reads the records that start in ``[start, end)``; ``start`` must be a record (gzip member) start.
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
            # The payload must be read before asking for the offset: warcio skips to the record's end.
            payload = record.content_stream().read()
            offset = iterator.get_record_offset()
            yield _warc_document(record, str(offset), payload)
    except Exception as exc:  # warcio raises ArchiveLoadFailed, ValueError, zlib/EOF errors on broken files
        yield _quarantine(f"{offset}+", "input:malformed_archive", error=f"{type(exc).__name__}: {exc}"[:200])


def _warc_document(record: Any, locator: str, payload: bytes) -> RawRecord:
    url = record.rec_headers.get_header("WARC-Target-URI")
    retrieved_at = _warc_date(record.rec_headers.get_header("WARC-Date"))
    source_id = _str_or_none((record.rec_headers.get_header("WARC-Record-ID") or "").strip("<>"))
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
) -> Iterator[RawRecord]:
    """The records of one file (those starting in ``[start, end)`` for a split file), in file order.

    Opening is retried on throttling and dropped connections (``retries``); a file that stays
    unreadable becomes one quarantined record.
    """
    ranged = start != 0 or end is not None
    if ranged and fmt not in RANGE_FORMATS:
        raise ValueError(f"format {fmt} cannot be read by byte range")
    compression = None if fmt in _RAW_FORMATS or ranged else "infer"

    def open_stream() -> IO[bytes]:
        return fsspec.open(uri, "rb", compression=compression, **(storage_options or {})).open()

    try:
        stream = with_retries(open_stream, retries or RetryPolicy())
    except Exception as exc:  # stores raise their own types (aiohttp, botocore, huggingface_hub)
        yield _quarantine(str(start), "input:unreadable_file", error=one_line(exc, 200))
        return
    with stream:
        if ranged:
            yield from READERS[fmt](stream, fields, start, end)
        else:
            yield from READERS[fmt](stream, fields)
