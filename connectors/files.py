"""The ``files`` connector: list the files behind an fsspec URL or glob and plan them as input units.

An :class:`InputUnit` is one piece of input that one task reads; the list of units
depends only on the input (never on the number of workers), which keeps document
order, ids and output files the same for every engine and worker count.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from schemas.config import FilesSource

# Longest suffix first: ".warc.wet.gz" must win over ".gz".
_EXTENSIONS: tuple[tuple[str, str], ...] = (
    (".warc.wet.gz", "wet"),
    (".wet.gz", "wet"),
    (".wet", "wet"),
    (".warc.gz", "warc"),
    (".warc", "warc"),
    (".arc.gz", "arc"),
    (".arc", "arc"),
    (".jsonl.gz", "jsonl"),
    (".jsonl.zst", "jsonl"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json.gz", "jsonl"),
    (".parquet", "parquet"),
    (".csv.gz", "csv"),
    (".csv", "csv"),
    (".html.gz", "html"),
    (".html", "html"),
    (".htm", "html"),
    (".txt.gz", "text"),
    (".txt", "text"),
)


class SourceError(RuntimeError):
    """A source that cannot be read at all (nothing matches, unreachable, unknown format)."""


def format_from_name(path: str) -> str | None:
    name = path.lower()
    return next((fmt for ext, fmt in _EXTENSIONS if name.endswith(ext)), None)


@dataclass(frozen=True)
class InputUnit:
    """One file (or, later, one byte range of a file) read by one task."""

    source_index: int
    uri: str  # full URL including the protocol, e.g. file:///data/a.jsonl.gz or s3://bucket/key
    format: str
    text_field: str
    license: str | None
    retrieved_at: str | None  # ISO-8601 modification time of the object, when the store tells it


def _full_uri(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs.unstrip_protocol(path)


def _modified(info: dict[str, Any]) -> str | None:
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(int(value), tz=UTC).isoformat()
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(microsecond=0).isoformat()
    return None


def plan_files(source: FilesSource, source_index: int) -> list[InputUnit]:
    """Expand a ``files`` source into input units, sorted by URI; raise :class:`SourceError` if empty."""
    where = f"sources[{source_index}]"
    try:
        fs, path = url_to_fs(source.url)
        if isinstance(fs, LocalFileSystem):
            path = os.path.abspath(path)  # resolve "..": the URI is part of every document id
        if globlib.has_magic(path):
            matches = sorted(fs.glob(path, detail=True).items())
        elif fs.isdir(path):
            matches = sorted(fs.find(path, detail=True).items())
        else:
            matches = [(path, fs.info(path))]
    except FileNotFoundError:
        raise SourceError(f"{where}: no such file or directory: {source.url}") from None
    except (OSError, ValueError, ImportError) as exc:
        raise SourceError(f"{where}: cannot list {source.url}: {exc}") from None

    units = []
    for path_, info in matches:
        if info.get("type") == "directory":
            continue
        fmt = source.format or format_from_name(path_)
        if fmt is None:
            raise SourceError(
                f"{where}: cannot tell the format of {path_} from its name; set `format` or narrow `url`"
            )
        units.append(
            InputUnit(
                source_index=source_index,
                uri=_full_uri(fs, path_),
                format=fmt,
                text_field=source.text_field,
                license=source.license,
                retrieved_at=_modified(info),
            )
        )
    if not units:
        raise SourceError(f"{where}: no files match {source.url}")
    return units
