"""A Dataspace Protocol 2025-1 provider: catalog, contract negotiation, transfer and an HTTP data plane.

It offers the datasets of a ``provider.yaml`` (any fsspec URL, glob or folder, or a finished
run's output folder), each under its ODRL policy, and plays the provider's side of the DSP
HTTPS binding: it answers catalog requests, agrees to a contract request that asks for exactly
what it offered (or first counter-offers, when a dataset says so), and for a finalized agreement
starts an ``HttpData-PULL`` transfer whose data address points at its own data plane with a fresh
bearer token. The data plane answers the dataset's file index and the files' bytes (with single
byte ranges) only while that transfer is STARTED and its token is younger than ``token_ttl_s``.

Incoming messages are judged by :data:`connectors.dsp.protocol.TRANSITIONS`: a message that is not
valid, or not valid in the process's state, is answered 400, one for an unknown process 404, both
with an error message that names the two process ids. The provider's own messages to the consumer
(offer, agreement, finalized event, transfer start) go out from a background thread shortly after
the answer to the message that caused them, and move the provider's record before they are sent; a
consumer that cannot be reached terminates the process.

``python -m connectors.dsp.provider --config provider.yaml --host H --port P`` serves in the
foreground until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import glob as globlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from connectors.dsp.http import (
    DspClient,
    Handler,
    JsonServer,
    PeerError,
    Request,
    Response,
    Transcript,
    redact,
)
from connectors.dsp.odrl import normalize_policy, policy_difference
from connectors.dsp.protocol import (
    FILE_INDEX_TYPE,
    HTTP_ENDPOINT_TYPE,
    HTTP_PULL,
    VERSION,
    InvalidTransition,
    MessageError,
    NegotiationState,
    Process,
    ProcessTable,
    TransferState,
    UnknownProcess,
    kind,
    message,
    new_pid,
    parse,
)
from connectors.files import format_from_name
from schemas.config import ConfigError
from schemas.provider import RULE_KEYS, DatasetOffer, ProviderConfig, load_provider_config

log = logging.getLogger("jaif.dsp.provider")

CATALOG_PAGE_SIZE = 50  # datasets per catalog answer unless the request asks for another limit
MAX_CATALOG_PAGE_SIZE = 1000
DATA_CHUNK_BYTES = 1 << 20
SEND_DELAY_S = 0.05  # lets the consumer take our answer before our next message reaches it
ANONYMOUS_CONSUMER = "urn:jaif:anonymous-consumer"
RUN_OUTPUT_EXTRAS = ("README.md", "manifest.json")  # served by path, left out of the file index
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_NEGOTIATION_ERROR = "ContractNegotiationError"
_TRANSFER_ERROR = "TransferError"
_CATALOG_ERROR = "CatalogError"


def _event(level: int, name: str, **fields: Any) -> None:
    """One structured log line: the event's name, then ``key=value`` pairs."""
    log.log(level, "%s %s", name, " ".join(f"{key}={value}" for key, value in fields.items()))


# ---------------------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class DataFile:
    """One file the data plane serves: its path in the dataset, where it lives and what the index says."""

    path: str  # relative to the dataset's root, "/"-separated
    location: str  # path in the dataset's filesystem
    size: int
    format: str | None
    sha256: str | None = None
    listed: bool = True  # False: served by path but not in the file index (a run output's README/manifest)

    def index_entry(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.size, "format": self.format, "sha256": self.sha256}


@dataclass(frozen=True)
class DatasetFiles:
    """The files behind one dataset's URL, by relative path."""

    fs: fsspec.AbstractFileSystem
    files: dict[str, DataFile]

    def index(self) -> dict[str, Any]:
        return {"files": [f.index_entry() for _, f in sorted(self.files.items()) if f.listed]}


def _resolve(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, path = url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        path = os.path.abspath(path)
    return fs, str(path).rstrip("/") or "/"


def _glob_root(pattern: str) -> str:
    """The folder above a glob's first wildcard: file paths in the index are relative to it."""
    parts = pattern.split("/")
    fixed = next(i for i, part in enumerate(parts) if globlib.has_magic(part))
    return "/".join(parts[:fixed])


def _relative(path: str, root: str) -> str:
    return path[len(root) :].lstrip("/") if root and path.startswith(root) else path.rsplit("/", 1)[-1]


def _is_run_output(fs: fsspec.AbstractFileSystem, root: str) -> bool:
    return fs.isfile(f"{root}/manifest.json") and fs.isdir(f"{root}/data")


def _read_manifest(fs: fsspec.AbstractFileSystem, root: str) -> dict[str, Any]:
    with fs.open(f"{root}/manifest.json", "rb") as f:
        manifest = json.load(f)
    return manifest if isinstance(manifest, dict) else {}


def _run_output_files(fs: fsspec.AbstractFileSystem, root: str) -> dict[str, DataFile]:
    """A run's data shards (with the manifest's digests), plus its README and manifest served by path."""
    manifest = _read_manifest(fs, root)
    digests = {
        str(entry.get("path")): entry.get("sha256")
        for entry in manifest.get("files", [])
        if isinstance(entry, dict)
    }
    files: dict[str, DataFile] = {}
    for location, info in sorted(fs.find(f"{root}/data", detail=True).items()):
        path = _relative(location, root)
        if info.get("type") != "directory" and path.endswith(".parquet"):
            files[path] = DataFile(path, location, int(info["size"]), "parquet", digests.get(path))
    for name in RUN_OUTPUT_EXTRAS:
        location = f"{root}/{name}"
        if fs.isfile(location):
            files[name] = DataFile(name, location, int(fs.size(location)), None, listed=False)
    return files


def list_dataset(dataset: DatasetOffer) -> DatasetFiles:
    """Every file behind the dataset's URL: a glob's matches, a folder's files, one file, or a run output."""
    fs, path = _resolve(dataset.url)
    if globlib.has_magic(path):
        root, matches = _glob_root(path), fs.glob(path, detail=True)
    elif fs.isdir(path):
        if _is_run_output(fs, path):
            return DatasetFiles(fs, _run_output_files(fs, path))
        root, matches = path, fs.find(path, detail=True)
    else:
        root, matches = path.rsplit("/", 1)[0], {path: fs.info(path)}
    files = {}
    for location, info in sorted(matches.items()):
        if info.get("type") == "directory":
            continue
        relative = _relative(location, root)
        fmt = dataset.format or format_from_name(relative)
        files[relative] = DataFile(relative, location, int(info["size"]), fmt)
    return DatasetFiles(fs, files)


def run_manifest(url: str) -> dict[str, Any] | None:
    """The manifest of a run output folder at ``url``; None when ``url`` is something else or unreadable."""
    try:
        fs, path = _resolve(url)
        if globlib.has_magic(path) or not fs.isdir(path) or not _is_run_output(fs, path):
            return None
        return _read_manifest(fs, path)
    except (OSError, ValueError) as exc:
        _event(logging.WARNING, "manifest.unreadable", url=url, error=type(exc).__name__)
        return None


class RangeNotSatisfiable(ValueError):
    """A byte range that starts past the end of the file (answered 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` bytes a single-range ``Range`` header asks for; None for all.

    Several ranges, another unit or a malformed header are ignored (the whole file is sent), as
    RFC 9110 allows; a range that starts at or past the end raises :class:`RangeNotSatisfiable`.
    """
    match = _RANGE.match((header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # "bytes=-N": the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    return start, min(int(last), size - 1) if last else size - 1


def read_bytes(fs: fsspec.AbstractFileSystem, location: str, start: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of a file from ``start``, in chunks of at most :data:`DATA_CHUNK_BYTES`."""
    with fs.open(location, "rb") as f:
        f.seek(start)
        remaining = length
        while remaining > 0:
            chunk = f.read(min(DATA_CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


# ---------------------------------------------------------------------------------------------- policies


def offer_rules(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an ODRL policy that an offer or agreement carries: its rules and profile."""
    return {key: policy[key] for key in (*RULE_KEYS, "profile") if key in policy}


def catalog_offer_id(dataset_id: str, policy: Mapping[str, Any]) -> str:
    """A stable offer id: the same dataset under the same policy keeps it across restarts."""
    canonical = json.dumps(normalize_policy(offer_rules(policy)), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha1(f"{dataset_id}\n{canonical}".encode()).hexdigest()
    return f"urn:jaif:offer:{digest[:16]}"


def _assignee(offer: Mapping[str, Any]) -> str:
    value = offer.get("assignee")
    if isinstance(value, Mapping):
        value = value.get("@id")
    return value if isinstance(value, str) and value else ANONYMOUS_CONSUMER


def _process_body(type_: str, process: Process) -> dict[str, Any]:
    """A ``ContractNegotiation`` / ``TransferProcess`` answer: both ids and the provider's state."""
    return message(
        type_, providerPid=process.local_pid, consumerPid=process.peer_pid, state=str(process.state)
    )


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _callback(msg: Mapping[str, Any]) -> str:
    address = msg.get("callbackAddress")
    if not isinstance(address, str) or urlsplit(address).scheme not in ("http", "https"):
        raise MessageError("callbackAddress must be an http(s) URL")
    return address.rstrip("/")


# ---------------------------------------------------------------------------------------------- server


class DspProvider:
    """The provider's DSP endpoints and data plane on one HTTP(S) server; a context manager.

    ``url`` is the base of the DSP endpoints (with ``base_path``); the version document is always
    at the server's root. ``public_url`` replaces ``url`` where peers are told it (catalog service,
    data addresses) when the server listens on a wildcard address or behind a proxy; it includes the
    base path. ``negotiations`` and ``transfers`` are the provider's records, by provider pid.
    """

    def __init__(
        self,
        config: ProviderConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "",
        transcript: str | Path | None = None,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        public_url: str | None = None,
    ) -> None:
        self.config = config
        self._catalog_offers = {self._offer(d)["@id"]: d for d in config.datasets}
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        record = Transcript(Path(transcript) if transcript is not None else None)
        self.server = JsonServer(host, port, record, name="dsp-provider", process_ids=self._pids)
        self._scheme = "http"
        if certfile and keyfile:
            self.server.wrap_tls(certfile, keyfile)
            self._scheme = "https"
        self._public_url = public_url.rstrip("/") if public_url else None
        self._client = DspClient(timeout_s=config.callback_timeout_s, transcript=record)
        self.negotiations = ProcessTable()
        self.transfers = ProcessTable()
        self._agreements: dict[str, str] = {}  # agreement id -> negotiation's provider pid
        self._listings: dict[str, DatasetFiles] = {}  # transfer pid -> its dataset's files
        self._about: dict[str, tuple[str | None, str | None]] = {}  # dataset id -> title, description
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._workers: set[threading.Thread] = set()
        self._routes()

    # -- lifecycle

    @property
    def url(self) -> str:
        return self._public_url or self.server.url(self._scheme) + self.base_path

    def start(self) -> DspProvider:
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop serving; messages not yet sent are dropped, those in flight get a moment to finish."""
        self._stopping.set()
        self.server.stop()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=1.0)
        self._client.close()

    def __enter__(self) -> DspProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing

    def _routes(self) -> None:
        self.server.route("GET", "/.well-known/dspace-version", self._version)
        catalog, negotiation, transfer = _CATALOG_ERROR, _NEGOTIATION_ERROR, _TRANSFER_ERROR
        complete, suspend, terminate = (
            self._consumer_moves(f"Transfer{name}Message")
            for name in ("Completion", "Suspension", "Termination")
        )
        for method, path, handler, error_type in (
            ("POST", "/catalog/request", self._catalog, catalog),
            ("GET", "/catalog/datasets/{id}", self._dataset, catalog),
            ("POST", "/negotiations/request", self._contract_request, negotiation),
            ("GET", "/negotiations/{pid}", self._negotiation, negotiation),
            ("POST", "/negotiations/{pid}/request", self._counter_request, negotiation),
            ("POST", "/negotiations/{pid}/events", self._negotiation_event, negotiation),
            ("POST", "/negotiations/{pid}/agreement/verification", self._verification, negotiation),
            ("POST", "/negotiations/{pid}/termination", self._negotiation_termination, negotiation),
            ("POST", "/transfers/request", self._transfer_request, transfer),
            ("GET", "/transfers/{pid}", self._transfer, transfer),
            ("POST", "/transfers/{pid}/start", self._transfer_restart, transfer),
            ("POST", "/transfers/{pid}/completion", complete, transfer),
            ("POST", "/transfers/{pid}/suspension", suspend, transfer),
            ("POST", "/transfers/{pid}/termination", terminate, transfer),
            ("GET", "/data/{pid}", self._data_index, transfer),
        ):
            self.server.route(method, self.base_path + path, handler, error_type)
        self.server.route("GET", self.base_path + "/data/{pid}/{path:path}", self._data_file, transfer)

    def _pids(self, request: Request, error_type: str) -> tuple[str, str]:
        """The process ids an error names: from the path, the message, or our record (server hook)."""
        try:
            body = request.json()
        except MessageError:
            body = None
        body = body if isinstance(body, Mapping) else {}
        provider_pid = request.params.get("pid") or body.get("providerPid")
        consumer_pid = body.get("consumerPid")
        if isinstance(provider_pid, str) and not isinstance(consumer_pid, str):
            table = self.negotiations if error_type == _NEGOTIATION_ERROR else self.transfers
            with suppress(UnknownProcess):
                consumer_pid = table.get(provider_pid).peer_pid
        return (
            provider_pid if isinstance(provider_pid, str) else "",
            consumer_pid if isinstance(consumer_pid, str) else "",
        )

    # -- catalog

    def _version(self, request: Request) -> Response:
        version = {"version": VERSION, "path": self.base_path or "/", "binding": "HTTPS"}
        return Response(200, {"protocolVersions": [version]})

    def _participant_hash(self) -> str:
        return hashlib.sha1(self.config.participant_id.encode()).hexdigest()[:16]

    def _service(self) -> dict[str, Any]:
        return {
            "@id": f"urn:jaif:data-service:{self._participant_hash()}",
            "@type": "DataService",
            "endpointURL": self.url,
        }

    def _offer(self, dataset: DatasetOffer) -> dict[str, Any]:
        rules = offer_rules(dataset.policy)
        return {"@id": catalog_offer_id(dataset.id, rules), "@type": "Offer", **rules}

    def _described(self, dataset: DatasetOffer) -> tuple[str | None, str | None]:
        """Title and description: as configured, else from a run output's manifest."""
        with self._lock:
            if dataset.id in self._about:
                return self._about[dataset.id]
        title, description = dataset.title, dataset.description
        if title is None or description is None:
            manifest = run_manifest(dataset.url) or {}
            name = manifest.get("name")
            rows = (manifest.get("counts") or {}).get("data_rows")
            title = title or (str(name) if name else None)
            if description is None and name:
                description = f"Curated by the JAIF run {name}" + (f": {rows} documents" if rows else "")
        with self._lock:
            self._about[dataset.id] = (title, description)
        return title, description

    def _dataset_entry(self, dataset: DatasetOffer) -> dict[str, Any]:
        """A catalog Dataset. Title, description and licence use the ``dct:`` prefix, which the DSP
        context defines; bare ``title`` would be dropped by a JSON-LD processor."""
        title, description = self._described(dataset)
        entry: dict[str, Any] = {"@id": dataset.id, "@type": "Dataset"}
        for key, value in (
            ("dct:title", title),
            ("dct:description", description),
            ("dct:license", dataset.license),
        ):
            if value is not None:
                entry[key] = value
        entry["hasPolicy"] = [self._offer(dataset)]
        entry["distribution"] = [
            {"@type": "Distribution", "format": HTTP_PULL, "accessService": self._service()["@id"]}
        ]
        return entry

    def _page(self, request: Request) -> tuple[int, int]:
        query = request.query
        try:
            offset = int(query.get("offset", 0))
            limit = int(query.get("limit", CATALOG_PAGE_SIZE))
        except ValueError:
            raise MessageError("offset and limit must be integers") from None
        if offset < 0 or not 1 <= limit <= MAX_CATALOG_PAGE_SIZE:
            raise MessageError(f"offset must be >= 0 and limit between 1 and {MAX_CATALOG_PAGE_SIZE}")
        return offset, limit

    def _page_links(self, offset: int, limit: int) -> str:
        total = len(self.config.datasets)
        links = []
        if offset + limit < total:
            links.append(f'<{self.url}/catalog/request?offset={offset + limit}&limit={limit}>; rel="next"')
        if offset > 0:
            previous = max(0, min(offset, total) - limit)
            links.append(f'<{self.url}/catalog/request?offset={previous}&limit={limit}>; rel="previous"')
        return ", ".join(links)

    def _catalog(self, request: Request) -> Response:
        parse(request.json(), "CatalogRequestMessage")
        offset, limit = self._page(request)
        datasets = [self._dataset_entry(d) for d in self.config.datasets[offset : offset + limit]]
        catalog = message(
            "Catalog",
            **{"@id": f"urn:jaif:catalog:{self._participant_hash()}"},
            participantId=self.config.participant_id,
            **{"dct:title": self.config.title},
            service=[self._service()],
            dataset=datasets or None,
        )
        links = self._page_links(offset, limit)
        return Response(200, catalog, headers={"Link": links} if links else {})

    def _dataset(self, request: Request) -> Response:
        dataset = self.config.dataset(request.params["id"])
        if dataset is None:
            return self.server.refuse(404, _CATALOG_ERROR, f"no dataset {request.params['id']}", request)
        entry = self._dataset_entry(dataset)
        return Response(200, message("Dataset", **{k: v for k, v in entry.items() if k != "@type"}))

    # -- negotiation

    @staticmethod
    def _negotiation_body(process: Process) -> dict[str, Any]:
        return _process_body("ContractNegotiation", process)

    @staticmethod
    def _requested_offer(msg: Mapping[str, Any]) -> dict[str, Any]:
        offer = msg.get("offer")
        if not isinstance(offer, Mapping) or not isinstance(offer.get("@id"), str):
            raise MessageError("the offer must be an object with an @id")
        return dict(offer)

    @staticmethod
    def _check_offer(ours: Mapping[str, Any], dataset_id: str, requested: Mapping[str, Any]) -> None:
        """Refuse a requested offer that names another dataset or asks for other terms than ours."""
        target = requested.get("target", dataset_id)
        if target != dataset_id:
            raise MessageError(f"offer {ours['@id']} is for dataset {dataset_id}, not {target}")
        difference = policy_difference({**ours, "target": dataset_id}, {**requested, "target": target})
        if difference is not None:
            raise MessageError(f"the offer's terms differ from offer {ours['@id']}: {difference}")

    def _peer_process(self, table: ProcessTable, request: Request, msg: Mapping[str, Any]) -> Process:
        """The process a message is for; it must name this process and its consumer."""
        pid = request.params["pid"]
        process = table.get(pid)
        if msg.get("providerPid") != pid:
            raise MessageError(f"providerPid {msg.get('providerPid')} does not match the address ({pid})")
        if msg.get("consumerPid") != process.peer_pid:
            raise MessageError(f"consumerPid {msg.get('consumerPid')} is not this process's consumer")
        return process

    def _contract_request(self, request: Request) -> Response:
        msg = parse(request.json(), "ContractRequestMessage")
        if msg.get("providerPid"):
            raise MessageError(
                "an initial contract request has no providerPid; counter-requests go to "
                "/negotiations/{providerPid}/request"
            )
        callback = _callback(msg)
        requested = self._requested_offer(msg)
        dataset = self._catalog_offers.get(requested["@id"])
        if dataset is None:
            raise MessageError(f"offer {requested['@id']} is not an offer of this provider")
        ours = self._offer(dataset)
        self._check_offer(ours, dataset.id, requested)
        process = Process(
            local_pid=new_pid(),
            peer_pid=msg["consumerPid"],
            callback=callback,
            data={"dataset": dataset.id, "offers": {ours["@id"]: ours}, "assignee": _assignee(requested)},
        )
        self.negotiations.create(process)
        self.negotiations.advance(process.local_pid, kind(msg), agree=offer_rules(ours))
        _event(logging.INFO, "negotiation.requested", pid=process.local_pid, dataset=dataset.id)
        self._later(self._answer_request, process.local_pid)
        return Response(201, self._negotiation_body(process))

    def _counter_request(self, request: Request) -> Response:
        msg = parse(request.json(), "ContractRequestMessage")
        process = self._peer_process(self.negotiations, request, msg)
        requested = self._requested_offer(msg)
        ours = process.data["offers"].get(requested["@id"])
        if ours is None:
            raise MessageError(f"offer {requested['@id']} was not made in this negotiation")
        self._check_offer(ours, process.data["dataset"], requested)
        self.negotiations.advance(process.local_pid, kind(msg), agree=offer_rules(ours))
        _event(logging.INFO, "negotiation.counter_requested", pid=process.local_pid)
        self._later(self._send_agreement, process.local_pid)
        return Response(200)

    def _negotiation_event(self, request: Request) -> Response:
        msg = parse(request.json(), "ContractNegotiationEventMessage")
        if msg.get("eventType") != "ACCEPTED":
            raise MessageError(f"a provider takes only ACCEPTED events, not {msg.get('eventType')}")
        process = self._peer_process(self.negotiations, request, msg)
        last_offer = (
            process.data["offers"][process.data["last_offer"]] if "last_offer" in process.data else {}
        )
        self.negotiations.advance(process.local_pid, kind(msg), agree=offer_rules(last_offer))
        _event(logging.INFO, "negotiation.accepted", pid=process.local_pid)
        self._later(self._send_agreement, process.local_pid)
        return Response(200)

    def _verification(self, request: Request) -> Response:
        msg = parse(request.json(), "ContractAgreementVerificationMessage")
        process = self._peer_process(self.negotiations, request, msg)
        self.negotiations.advance(process.local_pid, kind(msg))
        _event(logging.INFO, "negotiation.verified", pid=process.local_pid)
        self._later(self._send_finalized, process.local_pid)
        return Response(200)

    def _negotiation_termination(self, request: Request) -> Response:
        msg = parse(request.json(), "ContractNegotiationTerminationMessage")
        process = self._peer_process(self.negotiations, request, msg)
        self.negotiations.advance(process.local_pid, kind(msg), reason=redact(msg.get("reason")))
        _event(logging.INFO, "negotiation.terminated_by_consumer", pid=process.local_pid)
        return Response(200)

    def _negotiation(self, request: Request) -> Response:
        return Response(200, self._negotiation_body(self.negotiations.get(request.params["pid"])))

    def _answer_request(self, pid: str) -> None:
        """Answer a contract request: a counter-offer when the dataset asks for one first, else agreement."""
        process = self.negotiations.get(pid)
        dataset = self.config.dataset(process.data["dataset"])
        if dataset is not None and dataset.counter_offer and "last_offer" not in process.data:
            self._send_counter_offer(process, dataset)
        else:
            self._send_agreement(pid)

    def _send_counter_offer(self, process: Process, dataset: DatasetOffer) -> None:
        policy = dataset.counter_offer if isinstance(dataset.counter_offer, dict) else dataset.policy
        offer = {"@id": new_pid(), "@type": "Offer", "target": dataset.id, **offer_rules(policy)}
        body = message(
            "ContractOfferMessage", providerPid=process.local_pid, consumerPid=process.peer_pid, offer=offer
        )
        offers = {**process.data["offers"], offer["@id"]: offer}
        self._tell(self.negotiations, process, body, "offers", offers=offers, last_offer=offer["@id"])

    def _send_agreement(self, pid: str) -> None:
        process = self.negotiations.get(pid)
        agreement = {
            "@id": new_pid(),
            "@type": "Agreement",
            "target": process.data["dataset"],
            "assigner": self.config.participant_id,
            "assignee": process.data["assignee"],
            "timestamp": _timestamp(),
            **process.data["agree"],
        }
        with self._lock:
            self._agreements[agreement["@id"]] = pid
        body = message(
            "ContractAgreementMessage", providerPid=pid, consumerPid=process.peer_pid, agreement=agreement
        )
        self._tell(self.negotiations, process, body, "agreement", agreement=agreement)

    def _send_finalized(self, pid: str) -> None:
        process = self.negotiations.get(pid)
        body = message(
            "ContractNegotiationEventMessage",
            providerPid=pid,
            consumerPid=process.peer_pid,
            eventType="FINALIZED",
        )
        self._tell(self.negotiations, process, body, "events")

    # -- transfer

    @staticmethod
    def _transfer_body(process: Process) -> dict[str, Any]:
        return _process_body("TransferProcess", process)

    def _finalized_dataset(self, agreement_id: str) -> str:
        """The dataset of a finalized agreement this provider made; refuse any other agreement id."""
        with self._lock:
            negotiation_pid = self._agreements.get(agreement_id)
        negotiation = self.negotiations.get(negotiation_pid) if negotiation_pid else None
        if negotiation is None or negotiation.state != NegotiationState.FINALIZED:
            raise MessageError(f"agreement {agreement_id} is not a finalized agreement of this provider")
        return str(negotiation.data["dataset"])

    def _transfer_request(self, request: Request) -> Response:
        msg = parse(request.json(), "TransferRequestMessage")
        if msg["format"] != HTTP_PULL:
            raise MessageError(f"format {msg['format']} is not offered; this provider serves {HTTP_PULL}")
        callback = _callback(msg)
        dataset_id = self._finalized_dataset(msg["agreementId"])
        process = Process(
            local_pid=new_pid(),
            peer_pid=msg["consumerPid"],
            callback=callback,
            data={"agreement": msg["agreementId"], "dataset": dataset_id},
        )
        self.transfers.create(process)
        self.transfers.advance(process.local_pid, kind(msg))
        _event(logging.INFO, "transfer.requested", pid=process.local_pid, dataset=dataset_id)
        self._later(self._send_start, process.local_pid)
        return Response(201, self._transfer_body(process))

    def _transfer_restart(self, request: Request) -> Response:
        msg = parse(request.json(), "TransferStartMessage")
        process = self._peer_process(self.transfers, request, msg)
        if process.state != TransferState.SUSPENDED:
            raise InvalidTransition(
                f"a consumer may restart only a suspended transfer, not one {process.state}"
            )
        self.transfers.advance(process.local_pid, kind(msg))
        _event(logging.INFO, "transfer.restarted", pid=process.local_pid)
        return Response(200)

    def _consumer_moves(self, type_: str) -> Handler:
        """The handler for a consumer's completion, suspension or termination message."""

        def handle(request: Request) -> Response:
            msg = parse(request.json(), type_)
            process = self._peer_process(self.transfers, request, msg)
            self.transfers.advance(process.local_pid, kind(msg), reason=redact(msg.get("reason")))
            _event(logging.INFO, f"transfer.{str(process.state).lower()}", pid=process.local_pid)
            return Response(200)

        return handle

    def _transfer(self, request: Request) -> Response:
        return Response(200, self._transfer_body(self.transfers.get(request.params["pid"])))

    def _send_start(self, pid: str) -> None:
        process = self.transfers.get(pid)
        token = secrets.token_urlsafe(32)
        address = {
            "@type": "DataAddress",
            "endpointType": HTTP_ENDPOINT_TYPE,
            "endpoint": f"{self.url}/data/{pid}",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": token},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
            ],
        }
        body = message(
            "TransferStartMessage", providerPid=pid, consumerPid=process.peer_pid, dataAddress=address
        )
        self._tell(self.transfers, process, body, "start", token=token, token_issued=time.monotonic())

    # -- messages to the consumer

    def _later(self, action: Callable[[str], None], pid: str) -> None:
        """Run ``action(pid)`` on a background thread after :data:`SEND_DELAY_S`, unless stopping."""

        def run() -> None:
            try:
                if not self._stopping.wait(SEND_DELAY_S):
                    action(pid)
            except Exception:
                log.exception("sending to the consumer failed pid=%s", pid)
            finally:
                with self._lock:
                    self._workers.discard(threading.current_thread())

        worker = threading.Thread(target=run, name=f"dsp-provider-send-{pid[-8:]}", daemon=True)
        with self._lock:
            self._workers.add(worker)
        worker.start()

    def _tell(
        self, table: ProcessTable, process: Process, body: dict[str, Any], endpoint: str, **data: Any
    ) -> None:
        """Move our record by the message ``body``, then POST it to the consumer's ``endpoint``.

        The record moves first, so that the consumer's answer to it finds us in the new state. A message
        the record's state no longer allows (the consumer terminated meanwhile) is not sent; a consumer
        that cannot be reached terminates the process.
        """
        pid = process.local_pid
        try:
            table.advance(pid, kind(body), **data)
        except InvalidTransition as exc:
            _event(logging.INFO, "not_sent", pid=pid, message=body["@type"], reason=json.dumps(str(exc)))
            return
        area = "negotiations" if table is self.negotiations else "transfers"
        try:
            self._client.post(f"{process.callback}/{area}/{process.peer_pid}/{endpoint}", body)
        except PeerError as exc:
            _event(
                logging.WARNING,
                "consumer_unreachable",
                pid=pid,
                message=body["@type"],
                error=json.dumps(str(exc)),
            )
            termination = (
                "ContractNegotiationTerminationMessage"
                if area == "negotiations"
                else "TransferTerminationMessage"
            )
            with suppress(InvalidTransition):
                table.advance(pid, termination, reason=f"consumer unreachable: {exc}")
            return
        _event(logging.INFO, "sent", pid=pid, message=body["@type"], state=table.get(pid).state)

    # -- data plane

    def _authorized(self, request: Request) -> Process | None:
        """The STARTED transfer whose live token the request presents; None for anything else."""
        try:
            process = self.transfers.get(request.params["pid"])
        except UnknownProcess:
            return None
        token = process.data.get("token")
        if not token or process.state != TransferState.STARTED:
            return None
        if time.monotonic() - process.data["token_issued"] > self.config.token_ttl_s:
            return None
        presented = (request.headers.get("Authorization") or "").strip()
        if presented.lower().startswith("bearer "):
            presented = presented[len("bearer ") :].strip()
        return process if hmac.compare_digest(presented.encode(), token.encode()) else None

    @staticmethod
    def _unauthorized() -> Response:
        return Response(401, headers={"WWW-Authenticate": 'Bearer realm="jaif-data"'})

    def _files(self, process: Process) -> DatasetFiles:
        with self._lock:
            listing = self._listings.get(process.local_pid)
        if listing is None:
            dataset = self.config.dataset(process.data["dataset"])
            assert dataset is not None  # agreements name only configured datasets
            listing = list_dataset(dataset)
            with self._lock:
                self._listings[process.local_pid] = listing
        return listing

    def _data_index(self, request: Request) -> Response:
        process = self._authorized(request)
        if process is None:
            return self._unauthorized()
        payload = json.dumps(self._files(process).index()).encode()
        headers = {"Content-Type": FILE_INDEX_TYPE, "Content-Length": str(len(payload))}
        return Response(200, headers=headers, stream=[payload])

    def _data_file(self, request: Request) -> Response:
        process = self._authorized(request)
        if process is None:
            return self._unauthorized()
        listing = self._files(process)
        file = listing.files.get(request.params["path"])
        if file is None:
            return Response(404)
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        try:
            wanted = byte_range(request.headers.get("Range"), file.size)
        except RangeNotSatisfiable:
            return Response(416, headers={**headers, "Content-Range": f"bytes */{file.size}"})
        first, last = wanted if wanted is not None else (0, file.size - 1)
        length = last - first + 1 if file.size else 0
        headers["Content-Length"] = str(length)
        status = 200
        if wanted is not None:
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{file.size}"
        _event(logging.INFO, "data.read", pid=process.local_pid, path=json.dumps(file.path), bytes=length)
        return Response(status, headers=headers, stream=read_bytes(listing.fs, file.location, first, length))


# ---------------------------------------------------------------------------------------------- command line


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.dsp.provider", description="Serve datasets as a DSP 2025-1 provider."
    )
    parser.add_argument("--config", required=True, help="provider.yaml (YAML or JSON)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--base-path", default="", help="path prefix of the DSP endpoints, e.g. /dsp")
    parser.add_argument(
        "--public-url", help="base URL of the DSP endpoints as peers reach them (base path included)"
    )
    parser.add_argument("--certfile", help="TLS certificate (PEM); with --keyfile serves HTTPS")
    parser.add_argument("--keyfile", help="TLS private key (PEM)")
    parser.add_argument(
        "--transcript", help="append every DSP message (tokens redacted) to this JSON-lines file"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 2 for a bad config, 1 when it cannot listen."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    args = _arguments().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if bool(args.certfile) != bool(args.keyfile):
        print("error: --certfile and --keyfile go together", file=sys.stderr)
        return 2
    try:
        config = load_provider_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        provider = DspProvider(
            config,
            host=args.host,
            port=args.port,
            base_path=args.base_path,
            transcript=args.transcript,
            certfile=args.certfile,
            keyfile=args.keyfile,
            public_url=args.public_url,
        )
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    with provider:
        _event(logging.INFO, "serving", url=provider.url, datasets=len(config.datasets))
        while not stop.wait(1.0):
            pass
    _event(logging.INFO, "stopped", url=provider.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
