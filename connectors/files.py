"""The ``files`` connector: list the files behind an fsspec URL or glob and plan them as input units.

An :class:`InputUnit` is one piece of input that one task reads: a whole file, or a byte
range of a large one (see :mod:`connectors.splits`). The list of units depends only on
the input (never on the number of workers), which keeps document order, ids and output
files the same for every engine and worker count.

Any fsspec URL works through the same code path: local paths, ``s3://`` (s3fs; endpoint
and credentials from ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``), ``http(s)://`` (fsspec's HTTP filesystem, aiohttp; globs need an
HTML index page with links) and ``hf://`` (huggingface_hub's ``HfFileSystem``; ``HF_TOKEN``
for private repositories). Listing, opening and reading are retried on throttling and dropped
connections by the one retry layer :mod:`connectors.stores` sets up for the store.
"""

from __future__ import annotations

import fnmatch
import glob as globlib
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.core import split_protocol
from fsspec.implementations.local import LocalFileSystem

from connectors.base import GrantedAccess, InputUnit, SourceError, SourcePlan
from connectors.formats import ReadLimits
from connectors.retry import RetryPolicy, StoreUnreachable, is_transient, one_line
from connectors.stores import filesystem, open_input, retried
from schemas.config import FilesSource, InputLimits, Retries

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


def format_from_name(path: str) -> str | None:
    name = path.lower()
    return next((fmt for ext, fmt in _EXTENSIONS if name.endswith(ext)), None)


def retry_policy(retries: Retries) -> RetryPolicy:
    return RetryPolicy(retries.attempts, retries.initial_delay_s, retries.max_delay_s)


def read_limits(limits: InputLimits) -> ReadLimits:
    """A source's configured ``limits`` as the readers take them."""
    return ReadLimits(limits.max_record_mb, limits.max_line_mb, limits.max_decompressed_mb)


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


def source_root(path: str) -> str:
    """The folder a local source's files are named relative to: the folder of ``path``, the part of a
    glob before its first wildcard, or the folder that holds a single file."""
    if globlib.has_magic(path):
        parts = Path(path).parts
        fixed = next(i for i, part in enumerate(parts) if globlib.has_magic(part))
        return str(Path(*parts[:fixed]))
    return path if os.path.isdir(path) else os.path.dirname(path)


def lists_inside(source: FilesSource, folder: Path) -> bool:
    """Whether listing a local source could find files inside ``folder`` (a folder it lists
    recursively, or a glob whose pattern reaches into ``folder``); False for other stores."""
    protocol, path = split_protocol(source.url)
    if protocol not in (None, "file", "local"):
        return False
    path = os.path.abspath(os.path.expanduser(path))
    root = Path(source_root(path)).resolve()
    folder = folder.resolve()
    if not folder.is_relative_to(root):
        return False
    if not globlib.has_magic(path):
        return os.path.isdir(path)  # a folder is listed recursively; a single file is only itself
    pattern = Path(path).parts[len(Path(source_root(path)).parts) :]
    inside = folder.relative_to(root).parts
    for depth, name in enumerate(inside):
        if depth >= len(pattern) or "**" in pattern[depth]:
            return depth < len(pattern)
        if not fnmatch.fnmatchcase(name, pattern[depth]):
            return False
    return len(pattern) > len(inside)


def _local_naming(source: FilesSource, path: str) -> Callable[[str], str] | None:
    """How a local source's files are named in ids and outputs (``paths``): None keeps ``file://`` URIs."""
    if source.paths == "absolute":
        return None
    root = Path(source_root(path))
    prefix = f"{source.name}/" if source.name else ""
    return lambda file: prefix + Path(file).relative_to(root).as_posix()


def unreachable(where: str, url: str, exc: BaseException, policy: RetryPolicy) -> SourceError:
    """The one-line error for a store that stayed unreachable or refused."""
    if isinstance(exc, StoreUnreachable):
        return SourceError(f"{where}: {exc}")
    if is_transient(exc):
        return SourceError(f"{where}: {url} unreachable after {policy.attempts} attempts: {one_line(exc)}")
    return SourceError(f"{where}: cannot list {url}: {one_line(exc)}")


def _list(fs: fsspec.AbstractFileSystem, path: str, url: str) -> list[tuple[str, dict[str, Any]]]:
    if globlib.has_magic(path):
        return sorted(fs.glob(path, detail=True).items())
    info = None if url.endswith("/") else fs.info(path)
    if info is None or info.get("type") == "directory":
        return sorted(fs.find(path, detail=True).items())
    return [(path, info)]


def file_units(
    fs: fsspec.AbstractFileSystem,
    path: str,
    info: dict[str, Any],
    unit: InputUnit,
    split_mb: float,
) -> list[InputUnit]:
    """``unit`` for one file, split into byte ranges when the file is large and its format allows."""
    from connectors.splits import SCAN_BLOCK, split_points

    size = info.get("size")
    if not isinstance(size, int):
        return [unit]
    if size <= split_mb * 1024 * 1024:
        return [replace(unit, size=size)]

    def scan() -> IO[bytes]:
        return open_input(fs, path, unit.retries, unit.read_url, SCAN_BLOCK)

    points = split_points(scan, path, size, unit.format, split_mb)
    ends = [*points[1:], size]
    return [
        replace(unit, start=s, end=None if e == size else e, size=e - s)
        for s, e in zip(points, ends, strict=True)
    ]


def plan_files(source: FilesSource, source_index: int) -> list[InputUnit]:
    """Expand a ``files`` source into input units, sorted by URI; raise :class:`SourceError` if empty."""
    where = f"sources[{source_index}]"
    policy = retry_policy(source.retries)
    try:
        fs, path = filesystem(source.url, source.storage_options, policy)
        local = isinstance(fs, LocalFileSystem)
        if local:
            path = os.path.abspath(path)  # resolve ".." before naming files relative to the root
        matches = retried(fs, lambda: _list(fs, path, source.url), policy)
    except FileNotFoundError as exc:
        if is_transient(exc):
            raise unreachable(where, source.url, exc, policy) from None
        raise SourceError(f"{where}: no such file or directory: {source.url}") from None
    except Exception as exc:  # stores raise their own types (aiohttp, botocore, huggingface_hub)
        raise unreachable(where, source.url, exc, policy) from None

    naming = _local_naming(source, path) if local else None
    units = []
    for path_, info in matches:
        if info.get("type") == "directory":
            continue
        fmt = source.format or format_from_name(path_)
        if fmt is None:
            raise SourceError(
                f"{where}: cannot tell the format of {path_} from its name; set `format` or narrow `url`"
            )
        uri, location = _full_uri(fs, path_), None
        if naming is not None:
            uri, location = naming(path_), uri
        unit = InputUnit(
            source_index=source_index,
            uri=uri,
            location=location,
            format=fmt,
            text_field=source.text_field,
            id_field=source.id_field,
            limits=read_limits(source.limits),
            license=source.license,
            retrieved_at=_modified(info),
            storage_options=dict(source.storage_options),
            retries=policy,
        )
        try:
            units.extend(file_units(fs, path_, info, unit, source.split_mb))
        except Exception as exc:
            raise unreachable(where, unit.uri, exc, policy) from None
    if not units:
        raise SourceError(f"{where}: no files match {source.url}")
    return units


class FilesConnector:
    """Files need no negotiation: planning lists them, opening hands the same units to the tasks."""

    def plan(self, source: FilesSource, source_index: int) -> SourcePlan:
        return SourcePlan(source_index, plan_files(source, source_index))

    def open(self, plan: SourcePlan) -> GrantedAccess:
        return GrantedAccess(plan.units, plan.datasets)
