"""Publishing a finished run (``publish:`` in the config) to a Hugging Face Hub dataset or an fsspec URL.

What is published is decided here, once, for every target: the data and WebDataset shards, the dataset
card (``README.md``), ``manifest.json``, the EU AI Act summary, ``report.html`` and the ``validation/``
and ``lineage/`` folders when present, and the ledger only when the target's ``include_ledger`` says so.
Task logs (``logs/``) and hidden files (``.work/``, temporary files) never leave the machine.

A corrupted output must never be published: before anything is sent, every file that ``manifest.json``
lists is checked against its byte count and sha256, and a shard folder holding a file the manifest does
not list is refused too. A publisher (registered by config ``kind`` in :data:`PUBLISHERS`, imported only
when used) then copies the verified :class:`FinishedRun` to its target and returns a
:class:`PublishResult`. Every failure is a :class:`PublishError` with one line for the operator that
never holds a credential.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Protocol

from pipelines.finalize import file_rows
from schemas.config import FsspecPublish, HubPublish, PipelineConfig

log = logging.getLogger("jaif.publish")

PUBLISHERS: dict[str, str] = {
    "hub": "pipelines.publish.hub:HubPublisher",
    "fsspec": "pipelines.publish.objectstore:ObjectStorePublisher",
}

MANIFEST = "manifest.json"
# Paths relative to OUT; ``*`` matches across ``/`` (fnmatch, as huggingface_hub's folder filters do).
PUBLISHED_PATTERNS = (
    "data/*",
    "webdataset/*",
    "validation/*",
    "lineage/*",
    "README.md",
    MANIFEST,
    "ai_act_summary.md",
    "ai_act_summary.json",
    "report.html",
)
LEDGER_PATTERNS = ("ledger/*",)
HIDDEN_PATTERNS = (".*", "*/.*")  # a hidden file, or anything inside a hidden folder
SHARD_FOLDERS = ("data", "webdataset", "ledger")  # every file in them is listed in the manifest


class PublishError(RuntimeError):
    """Publishing failed; the message is one line for the operator and holds no secret."""


@dataclass(frozen=True)
class PublishResult:
    kind: str  # the publisher's config kind: hub | fsspec
    target: str  # the fsspec URL, or ``repo_id@revision``
    files: int
    bytes: int
    commit: str | None  # the Hub commit id; None for object stores
    url: str  # where a person can look at what was published


@dataclass(frozen=True)
class FinishedRun:
    """A verified output folder and the files of it that a target receives."""

    out: Path
    files: tuple[Path, ...]  # absolute paths, sorted by their path relative to ``out``
    manifest: dict[str, Any]
    manifest_sha256: str

    def relative(self, path: Path) -> str:
        return path.relative_to(self.out).as_posix()

    @property
    def bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.out.name))

    @property
    def started_at(self) -> str:
        return str(self.manifest.get("run", {}).get("started_at", "unknown"))

    def title(self) -> str:
        """One line naming the run, e.g. for a commit message."""
        counts = self.manifest.get("counts", {})
        return (
            f"Publish {self.name} (run started {self.started_at}): {counts.get('kept', 0)} of "
            f"{counts.get('inputs', 0)} documents kept, {len(self.files)} files"
        )

    def description(self) -> str:
        """The run's counts, one per line, for a commit description or a marker."""
        counts = self.manifest.get("counts", {})
        lines = [
            f"{status}: {counts.get(status, 0)}"
            for status in ("kept", "filtered", "duplicate", "quarantined")
        ]
        kept_by_language = {
            lang: fates["kept"]
            for lang, fates in sorted(counts.get("by_language", {}).items())
            if fates.get("kept")
        }
        lines.append("kept by language: " + ", ".join(f"{k} {v}" for k, v in kept_by_language.items()))
        lines.append(f"manifest sha256: {self.manifest_sha256}")
        return "\n".join(lines)


class Publisher(Protocol):
    def publish(self, run: FinishedRun) -> PublishResult: ...


def publish_patterns(include_ledger: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(allow, ignore) patterns over paths relative to OUT that select what is published."""
    allow = PUBLISHED_PATTERNS + (LEDGER_PATTERNS if include_ledger else ())
    return allow, HIDDEN_PATTERNS


def is_published(relative: str, include_ledger: bool) -> bool:
    allow, ignore = publish_patterns(include_ledger)
    return any(fnmatch(relative, p) for p in allow) and not any(fnmatch(relative, p) for p in ignore)


def is_managed(relative: str) -> bool:
    """A path a publish owns at its target: one left there by an earlier publish is replaced or removed."""
    allow, _ = publish_patterns(include_ledger=True)
    return any(fnmatch(relative, p) for p in allow)


def published_files(out: Path, include_ledger: bool) -> list[Path]:
    """The files of ``out`` that a target receives, sorted by their path relative to ``out``."""
    found = (path for path in out.rglob("*") if path.is_file())
    chosen = [path for path in found if is_published(path.relative_to(out).as_posix(), include_ledger)]
    return sorted(chosen, key=lambda path: path.relative_to(out).as_posix())


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read_manifest(out: Path) -> tuple[dict[str, Any], str]:
    path = out / MANIFEST
    if not path.is_file():
        raise PublishError(f"publish: {out} has no {MANIFEST}; only a finished run can be published")
    payload = path.read_bytes()
    try:
        manifest = json.loads(payload)
    except ValueError as exc:
        raise PublishError(f"publish: {path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        raise PublishError(f"publish: {path} lists no files")
    return manifest, hashlib.sha256(payload).hexdigest()


def _check_listed_file(out: Path, entry: dict[str, Any]) -> str | None:
    """What is wrong with one file the manifest lists, or None."""
    relative = str(entry.get("path", ""))
    path = out / relative
    if not relative or not path.resolve().is_relative_to(out.resolve()):
        return f"{MANIFEST} lists {relative!r}, which is not a file inside the output folder"
    if not path.is_file():
        return f"{relative} is listed in {MANIFEST} but missing"
    size = path.stat().st_size
    if size != entry.get("bytes"):
        return f"{relative} has {size} bytes, {MANIFEST} says {entry.get('bytes')}"
    if _sha256(path) != entry.get("sha256"):
        return f"{relative} does not match its sha256 in {MANIFEST} (corrupted after the run)"
    if "rows" in entry and (rows := file_rows(path)) != entry["rows"]:
        return f"{relative} holds {rows} rows, {MANIFEST} says {entry['rows']}"
    return None


def _unlisted_shards(out: Path, listed: set[str]) -> list[str]:
    return sorted(
        relative
        for folder in SHARD_FOLDERS
        for path in (out / folder).rglob("*")
        if path.is_file()
        and (relative := path.relative_to(out).as_posix()) not in listed
        and not any(fnmatch(relative, p) for p in HIDDEN_PATTERNS)
    )


def verify_manifest(out: Path) -> tuple[dict[str, Any], str]:
    """The manifest and its sha256, once every file it lists matches its byte count and sha256."""
    manifest, digest = _read_manifest(out)
    entries = [entry for entry in manifest["files"] if isinstance(entry, dict)]
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        problems = [p for p in pool.map(lambda entry: _check_listed_file(out, entry), entries) if p]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PublishError(f"publish: refused: {problems[0]}{more}")
    unlisted = _unlisted_shards(out, {str(entry.get("path")) for entry in entries})
    if unlisted:
        more = f" (and {len(unlisted) - 1} more)" if len(unlisted) > 1 else ""
        raise PublishError(f"publish: refused: {unlisted[0]} is not listed in {MANIFEST}{more}")
    return manifest, digest


def load_finished_run(out: Path, include_ledger: bool) -> FinishedRun:
    """The verified output folder ``out`` with the files to publish (:class:`PublishError` if corrupted)."""
    manifest, digest = verify_manifest(out)
    files = tuple(published_files(out, include_ledger))
    return FinishedRun(out=out, files=files, manifest=manifest, manifest_sha256=digest)


def publisher_for(settings: HubPublish | FsspecPublish) -> Publisher:
    module_name, _, class_name = PUBLISHERS[settings.kind].partition(":")
    publisher_class = getattr(importlib.import_module(module_name), class_name)
    return publisher_class(settings)


def publish_run(out: Path, config: PipelineConfig) -> PublishResult | None:
    """Publish the finished run in ``out`` as ``config.publish`` says; None when it says nothing."""
    settings = config.publish
    if settings is None:
        return None
    run = load_finished_run(out, settings.include_ledger)
    log.info(
        "publish %s: %d verified files, %d bytes, from %s", settings.kind, len(run.files), run.bytes, out
    )
    result = publisher_for(settings).publish(run)
    log.info(
        "published %s: %d files, %d bytes to %s (commit %s)",
        result.kind,
        result.files,
        result.bytes,
        result.target,
        result.commit or "-",
    )
    return result
