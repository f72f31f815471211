"""Publish a finished run to any fsspec URL (``s3://bucket/prefix``, a local folder, ...) with a marker last.

The run's files go under the URL with the same relative paths; ``_SUCCESS`` (JSON: run name, manifest
sha256, file count, bytes, time) is written LAST, once a listing of the target shows every file with
its size, so a reader that sees ``_SUCCESS`` sees a complete copy. A ``_SUCCESS`` left by an earlier
publish is removed FIRST, so a re-publish that stops half-way is never taken for complete. Files that
an earlier publish left under the published paths and that this run does not have are removed, and
existing ones overwritten: re-publishing the same run is idempotent and the target holds one run.

Every store call is retried on transient failures (throttling, 5xx, dropped connections) by the one
retry layer ``connectors.stores`` sets up for the store; anything else fails at once. Credentials come
only from the environment (s3fs reads ``AWS_*``); ``storage_options`` carries non-secret settings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from fsspec import AbstractFileSystem
from fsspec.utils import get_protocol

from connectors.retry import RetryPolicy, one_line
from connectors.stores import filesystem, retried
from pipelines.publish import FinishedRun, PublishError, PublishResult, is_managed
from schemas.config import FsspecPublish

log = logging.getLogger("jaif.publish")

MARKER = "_SUCCESS"
UPLOAD_THREADS = 8
LOCAL_PROTOCOLS = ("file", "local")

T = TypeVar("T")


class ObjectStorePublisher:
    """``publish(run)``: the run's files under ``settings.url``, then the ``_SUCCESS`` marker."""

    def __init__(self, settings: FsspecPublish, retries: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.retries = retries or RetryPolicy()

    def publish(self, run: FinishedRun) -> PublishResult:
        fs, root = self._filesystem()
        self._step(fs, "removing the previous marker", lambda: self._remove_marker(fs, root))
        stale = self._step(fs, "listing the target", lambda: self._stale_paths(fs, root, run))
        if stale:
            log.info("removing %d files of an earlier publish under %s", len(stale), self.settings.url)
        for relative in stale:
            self._step(fs, f"removing {relative}", lambda r=relative: fs.rm_file(_join(root, r)))
        self._upload_all(fs, root, run)
        self._check_copy(fs, root, run)
        self._step(fs, "writing the marker", lambda: fs.pipe_file(_join(root, MARKER), _marker(run)))
        return PublishResult(
            kind="fsspec",
            target=self.settings.url,
            files=len(run.files),
            bytes=run.bytes,
            commit=None,
            url=self.settings.url,
        )

    def _filesystem(self) -> tuple[AbstractFileSystem, str]:
        options: dict[str, Any] = dict(self.settings.storage_options)
        if get_protocol(self.settings.url) in LOCAL_PROTOCOLS:
            options.setdefault("auto_mkdir", True)  # a local folder's subfolders appear as objects' do
        try:
            fs, root = filesystem(self.settings.url, options, self.retries)
        except Exception as exc:
            raise PublishError(f"publish: {self.settings.url}: {one_line(exc)}") from None
        return fs, root.rstrip("/")

    def _step(self, fs: AbstractFileSystem, what: str, call: Callable[[], T]) -> T:
        """``call()`` with retries on transient failures; a lasting failure is a :class:`PublishError`."""
        try:
            return retried(fs, call, self.retries)
        except Exception as exc:
            raise PublishError(f"publish: {self.settings.url}: {what} failed: {one_line(exc)}") from None

    def _remove_marker(self, fs: AbstractFileSystem, root: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(_join(root, MARKER))

    def _listing(self, fs: AbstractFileSystem, root: str) -> dict[str, int]:
        """Relative path -> size of every file under ``root`` (empty when nothing is there yet)."""
        fs.invalidate_cache(root)
        try:
            found = fs.find(root, detail=True)
        except FileNotFoundError:
            return {}
        prefix = root + "/"
        return {
            path[len(prefix) :]: int(info.get("size") or 0)
            for path, info in found.items()
            if path.startswith(prefix) and info.get("type") != "directory"
        }

    def _stale_paths(self, fs: AbstractFileSystem, root: str, run: FinishedRun) -> list[str]:
        published = {run.relative(path) for path in run.files}
        return sorted(p for p in self._listing(fs, root) if is_managed(p) and p not in published)

    def _upload_all(self, fs: AbstractFileSystem, root: str, run: FinishedRun) -> None:
        def upload(path: Path) -> None:
            relative = run.relative(path)
            self._step(fs, f"uploading {relative}", lambda: fs.put_file(str(path), _join(root, relative)))

        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for _ in pool.map(upload, run.files):
                pass

    def _check_copy(self, fs: AbstractFileSystem, root: str, run: FinishedRun) -> None:
        """Every published file is at the target with its size, before the marker says so."""
        listing = self._step(fs, "listing the copy", lambda: self._listing(fs, root))
        for path in run.files:
            relative = run.relative(path)
            if listing.get(relative) != path.stat().st_size:
                raise PublishError(
                    f"publish: {self.settings.url}: {relative} is missing or incomplete at the target "
                    "after its upload; no marker written"
                )


def _join(root: str, relative: str) -> str:
    return f"{root}/{relative}"


def _marker(run: FinishedRun) -> bytes:
    payload = {
        "name": run.name,
        "started_at": run.started_at,
        "manifest_sha256": run.manifest_sha256,
        "files": len(run.files),
        "bytes": run.bytes,
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return json.dumps(payload, indent=2).encode() + b"\n"
