"""The connector protocol: how a kind of source is planned, opened for reading, and released.

```
 plan(source, index) ─► SourcePlan     what the source offers, judged by its policies; no access yet
 open(plan)          ─► SourceAccess   access granted (e.g. a DSP contract and transfer): the input
                                       units the tasks read, each with the address to read and, where
                                       the address needs one, the name of the environment variable that
                                       holds its short-lived token
 access.close(ok)                      the run is over: complete (or terminate) what was opened
```
Planning and opening happen in the driver before any task starts; a task only reads the
address its unit names. Tokens never travel inside a unit (units are pickled into task
logs and batch-job files): the driver puts them into its environment, which the engines
hand to their tasks, and removes them on close.

A connector is one module with a class registered in :data:`CONNECTORS` under its config
``kind``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from connectors.formats import ReadLimits
from connectors.retry import RetryPolicy


class SourceError(RuntimeError):
    """A source that cannot be read at all (nothing matches, unreachable, unknown format)."""


@dataclass(frozen=True)
class InputUnit:
    """One file, or one byte range ``[start, end)`` of a file, read by one task."""

    source_index: int
    uri: str  # the record's source identity (``source_uri``, part of every id), e.g. file:///data/a.jsonl.gz
    format: str
    text_field: str
    license: str | None
    retrieved_at: str | None  # ISO-8601 modification time of the object, when the store tells it
    start: int = 0  # records whose first byte lies in [start, end) belong to this unit
    end: int | None = None  # None: to the end of the file
    connector: str = "files"  # the document's `source`
    provenance: dict[str, str] = field(default_factory=dict, hash=False)  # e.g. publisher, dataset_id
    storage_options: dict[str, Any] = field(default_factory=dict, hash=False)
    retries: RetryPolicy = RetryPolicy()
    location: str | None = None  # where the bytes are read when that is not `uri` (a DSP data address)
    credential_env: str | None = None  # environment variable with the `Authorization` value for `location`
    id_field: str = "id"  # the field holding a record's own id (JSONL, Parquet, CSV)
    limits: ReadLimits = ReadLimits()  # what one record may cost the reader (the source's `limits`)
    # bytes of the file this unit reads, when the listing says: engines start larger units first
    size: int | None = field(default=None, compare=False)

    @property
    def read_url(self) -> str:
        return self.location or self.uri

    def read_options(self) -> dict[str, Any]:
        """fsspec options for opening :attr:`read_url`: the unit's own, plus its token when it has one.

        A tokenised address is read without following redirects, so the token goes nowhere else.
        """
        if self.credential_env is None:
            return dict(self.storage_options)
        token = os.environ.get(self.credential_env)
        if token is None:
            raise PermissionError(f"the access token for {self.read_url} is not in this task's environment")
        headers = {**self.storage_options.get("headers", {}), "Authorization": token}
        return {**self.storage_options, "headers": headers, "allow_redirects": False}


@dataclass
class DatasetReport:
    """One dataset a source offered, and what became of it: a line of the summary and the manifest."""

    source_index: int
    dataset_id: str
    decision: str  # allow | deny | unknown | failed
    reason: str
    publisher: str | None = None
    agreement_id: str | None = None
    policy_id: str | None = None
    files: int = 0

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class SourcePlan:
    """What planning found in one source: units known before access, and per-dataset decisions."""

    source_index: int
    units: list[InputUnit]
    datasets: list[DatasetReport] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)  # what `open` must still negotiate (connector's own)


class SourceAccess(Protocol):
    """Access to one source while the run's tasks read it."""

    units: list[InputUnit]
    datasets: list[DatasetReport]
    held: bool  # True when the access lives in this process (a transfer it must complete)

    def attach_logs(self, logs: Path) -> None:
        """Write what the access has to say for auditors (e.g. a protocol transcript) under ``logs``."""

    def close(self, succeeded: bool) -> None:
        """Release the access: tell the peer the transfer completed (or was terminated)."""


class Connector(Protocol):
    def plan(self, source: Any, source_index: int) -> SourcePlan: ...

    def open(self, plan: SourcePlan) -> SourceAccess: ...


@dataclass
class GrantedAccess:
    """The access of a source that needs no negotiation: the planned units, nothing to release."""

    units: list[InputUnit]
    datasets: list[DatasetReport] = field(default_factory=list)
    held: bool = False

    def attach_logs(self, logs: Path) -> None:
        return None

    def close(self, succeeded: bool) -> None:
        return None


# config `kind` -> "module:Class" of its connector (imported when a source of that kind is planned).
CONNECTORS: dict[str, str] = {
    "files": "connectors.files:FilesConnector",
    "dcat": "connectors.dcat:DcatConnector",
    "dsp": "connectors.dsp.consumer:DspConnector",
}


def connector(kind: str) -> Connector:
    if kind not in CONNECTORS:
        raise SourceError(f"no connector for sources of kind {kind!r}")
    module, name = CONNECTORS[kind].split(":")
    return getattr(importlib.import_module(module), name)()
