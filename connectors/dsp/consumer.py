"""The ``dsp`` connector: a Dataspace Protocol 2025-1 consumer.

```
 plan:  /.well-known/dspace-version ─► catalog (Link-paged) or dataset request
        ─► each dataset's offers judged by ODRL against our usage (allow | deny | unknown)
 open:  per allowed dataset: contract negotiation ─► agreement checked against the offer ─► verified
        ─► FINALIZED ─► transfer request (HTTP pull) ─► TransferStartMessage with the data address
        ─► the data address lists the files ─► one input unit per file, read by the `files` readers
 close: TransferCompletionMessage (run succeeded) or TransferTerminationMessage (it failed)
```
The negotiation is consumer-initiated. A provider's counter-offer is accepted when it grants
exactly what was asked for and terminated otherwise. The provider's messages arrive at our
callback endpoints (a listener on ``callback_listen``), which answer 400 to a message that is
invalid in the process's current state and 404 to an unknown process.

A dataset that is denied, cannot be judged, or whose negotiation or transfer fails yields no
documents and one report line; the other datasets go on. The data address's token is put into
this process's environment under a per-transfer name that the input units carry; engines hand
the environment to their tasks, and closing removes it. Data is fetched only from the address
the provider gave for that transfer (no redirects, no other schemes, no link-local or metadata
addresses), with TLS verified unless the config says otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import fsspec

from connectors.base import DatasetReport, InputUnit, SourceError, SourcePlan
from connectors.dsp.http import (
    DspClient,
    JsonServer,
    PeerError,
    Request,
    Response,
    Transcript,
    UnsafeAddress,
    check_data_address,
    link_next,
)
from connectors.dsp.odrl import PolicyDecision, UsageContext, evaluate, policy_difference
from connectors.dsp.protocol import (
    FILE_INDEX_TYPE,
    HTTP_PULL,
    PROVIDER_ENDPOINTS,
    PROVIDER_SENDS,
    VERSION,
    InvalidTransition,
    MessageError,
    NegotiationState,
    Process,
    ProcessTable,
    TransferState,
    authorization_header,
    endpoint_properties,
    kind,
    message,
    new_pid,
    parse,
)
from connectors.files import file_units, format_from_name, read_limits, retry_policy
from schemas.config import DspSource
from schemas.document import AGREEMENT_ID, DATASET_ID, POLICY, PUBLISHER

log = logging.getLogger("jaif.dsp.consumer")

TOKEN_ENV_PREFIX = "JAIF_DSP_TOKEN_"
MAX_CATALOG_PAGES = 10_000

# Media types a data address may answer with -> reader format.
_MEDIA_FORMATS = {
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/jsonlines": "jsonl",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "text/html": "html",
    "text/plain": "text",
    "text/csv": "csv",
    "application/warc": "warc",
}


# Our callback endpoints (under the callback address): path tail -> the message the provider sends there.
NEGOTIATION_CALLBACKS = {
    "offers": "ContractOfferMessage",
    "agreement": "ContractAgreementMessage",
    "events": "ContractNegotiationEventMessage",
    "termination": "ContractNegotiationTerminationMessage",
}
TRANSFER_CALLBACKS = {
    "start": "TransferStartMessage",
    "suspension": "TransferSuspensionMessage",
    "completion": "TransferCompletionMessage",
    "termination": "TransferTerminationMessage",
}


class NegotiationFailed(RuntimeError):
    """A dataset whose contract or transfer did not come about; the message is the report's reason."""


@dataclass
class Candidate:
    """A dataset of the catalog with the offer we will ask for (or the reason none can be)."""

    dataset: dict[str, Any]
    offer: dict[str, Any] | None
    decision: PolicyDecision


def segment(value: str) -> str:
    """``value`` as one URL path segment (ids such as ``urn:uuid:...`` keep their colons)."""
    return quote(value, safe=":@!$&'()*+,;=")


def usage_context(source: DspSource) -> UsageContext:
    return UsageContext(
        participant_id=source.participant_id,
        actions=tuple(source.usage.actions),
        purposes=tuple(source.usage.purposes),
        locations=tuple(source.usage.locations),
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    """A catalogue literal: a string, ``{"@value": ...}``, or the first of a list of them."""
    if isinstance(value, list):
        return next((t for t in map(_text, value) if t), None)
    if isinstance(value, Mapping):
        value = value.get("@value", value.get("@id"))
    return str(value) if isinstance(value, str | int | float) and str(value) else None


def _pulls_over_http(dataset: Mapping[str, Any]) -> bool:
    formats = [
        _text(d.get("format")) or "" for d in _as_list(dataset.get("distribution")) if isinstance(d, dict)
    ]
    return any(f.replace("_", "").replace("-", "").lower().endswith("httpdatapull") for f in formats)


def choose_offer(dataset: dict[str, Any], context: UsageContext) -> Candidate:
    """The first offer of ``dataset`` that our usage is allowed under; else why none is.

    An ``unknown`` verdict outranks a ``deny`` in the report: it tells the operator that a
    person could look at the policy.
    """
    offers = [o for o in _as_list(dataset.get("hasPolicy")) if isinstance(o, dict)]
    if not offers:
        return Candidate(dataset, None, PolicyDecision("unknown", "the dataset carries no offer", None))
    decisions = [(offer, evaluate(offer, context)) for offer in offers]
    for offer, decision in decisions:
        if decision.allowed:
            return Candidate(dataset, offer, decision)
    unknown = [d for _, d in decisions if d.result == "unknown"]
    return Candidate(dataset, None, (unknown or [d for _, d in decisions])[0])


class DspConnector:
    """Plans a ``dsp`` source from the provider's catalog; opening negotiates and starts the transfers."""

    def plan(self, source: DspSource, source_index: int) -> SourcePlan:
        session = DspSession(source, source_index)
        try:
            candidates, reports = session.candidates()
        except (PeerError, MessageError, UnsafeAddress) as exc:
            session.close(False)
            report = DatasetReport(source_index, source.dataset or "all", "failed", f"catalog: {exc}")
            return SourcePlan(source_index, [], [report])
        return SourcePlan(source_index, [], reports, pending=[session, *candidates])

    def open(self, plan: SourcePlan) -> DspAccess:
        if not plan.pending:
            return DspAccess(None, [], plan.datasets)
        session, candidates = plan.pending[0], plan.pending[1:]
        units: list[InputUnit] = []
        reports = list(plan.datasets)
        try:
            for candidate in candidates:
                dataset_units, report = session.acquire(candidate)
                units.extend(dataset_units)
                reports.append(report)
        except BaseException:
            session.close(False)
            raise
        return DspAccess(session, units, sorted(reports, key=lambda r: r.dataset_id))


@dataclass
class DspAccess:
    """The transfers of one ``dsp`` source, held open while the run's tasks read."""

    session: DspSession | None
    units: list[InputUnit]
    datasets: list[DatasetReport]
    held: bool = True

    def attach_logs(self, logs: Path) -> None:
        if self.session is not None:
            self.session.transcript.attach(logs / "dsp" / f"source-{self.session.source_index:03d}.jsonl")

    def close(self, succeeded: bool) -> None:
        if self.session is not None:
            self.session.close(succeeded)
            self.session = None


@dataclass
class _Transfer:
    pid: str
    token_env: str | None
    dataset_id: str


@dataclass
class DspSession:
    """One provider: our client, our callback endpoints, and the negotiations and transfers with it."""

    source: DspSource
    source_index: int
    transcript: Transcript = field(default_factory=lambda: Transcript(buffer=True))

    def __post_init__(self) -> None:
        token = os.environ.get(self.source.token_env) if self.source.token_env else None
        if self.source.token_env and token is None:
            raise SourceError(
                f"sources[{self.source_index}]: environment variable {self.source.token_env} is not set"
            )
        self.client = DspClient(
            authorization=token,
            timeout_s=self.source.timeout_s,
            retries=retry_policy(self.source.retries),
            verify=self.source.tls_verify,
            transcript=self.transcript,
        )
        self.negotiations = ProcessTable()
        self.transfers = ProcessTable()
        self.open_transfers: list[_Transfer] = []
        self.base = ""
        self.provider_id: str | None = None
        self.context = usage_context(self.source)
        self.callbacks = self._callback_server()

    # ------------------------------------------------------------------------------------ catalog

    def candidates(self) -> tuple[list[Candidate], list[DatasetReport]]:
        """The datasets to negotiate for, and report lines for those our usage is not allowed under."""
        self.base = self.discover()
        candidates, reports = [], []
        if self.source.datasets == "all":
            datasets = self.catalog_datasets()
        else:
            datasets = []
            for dataset_id in (
                [self.source.dataset] if self.source.dataset else list(self.source.datasets or [])
            ):
                try:
                    datasets.append(self.dataset(dataset_id))
                except (PeerError, MessageError) as exc:
                    reason = f"dataset request failed: {exc}"
                    reports.append(DatasetReport(self.source_index, dataset_id, "failed", reason))
        for dataset in sorted(datasets, key=lambda d: str(d.get("@id"))):
            dataset_id = str(dataset.get("@id"))
            candidate = choose_offer(dataset, self.context)
            if candidate.offer is not None and not _pulls_over_http(dataset):
                reason = f"no {HTTP_PULL} distribution"
                reports.append(
                    DatasetReport(self.source_index, dataset_id, "failed", reason, self.provider_id)
                )
            elif candidate.offer is None:
                decision = candidate.decision
                reports.append(
                    DatasetReport(
                        self.source_index,
                        dataset_id,
                        decision.result,
                        decision.reason,
                        self.provider_id,
                        policy_id=decision.policy_id,
                    )
                )
                log.info("dataset %s not negotiated: %s (%s)", dataset_id, decision.result, decision.reason)
            else:
                candidates.append(candidate)
        return candidates, reports

    def discover(self) -> str:
        """The provider's DSP 2025-1 base URL, from its version document."""
        endpoint = self.source.endpoint.rstrip("/")
        document, _ = self.client.get_json(f"{endpoint}/.well-known/dspace-version")
        versions = document.get("protocolVersions") if isinstance(document, dict) else None
        if not isinstance(versions, list):
            raise MessageError("the version document has no protocolVersions")
        for entry in versions:
            if (
                isinstance(entry, dict)
                and entry.get("version") == VERSION
                and entry.get("binding", "HTTPS") == "HTTPS"
            ):
                path = str(entry.get("path") or "/")
                origin = urlsplit(endpoint)
                return f"{origin.scheme}://{origin.netloc}{path}".rstrip("/")
        offered = sorted(str(e.get("version")) for e in versions if isinstance(e, dict))
        raise MessageError(f"the provider does not speak DSP {VERSION} (it offers {', '.join(offered)})")

    def catalog_datasets(self) -> list[dict[str, Any]]:
        """Every dataset of the provider's catalog, following ``Link: rel="next"`` pages."""
        url: str | None = f"{self.base}/catalog/request"
        datasets: list[dict[str, Any]] = []
        pages = 0
        while url is not None and pages < MAX_CATALOG_PAGES:
            response = self.client.post_response(
                url, message("CatalogRequestMessage", filter=[]), expect=(200,)
            )
            catalog = parse(response.json(), "Catalog")
            self.provider_id = self.provider_id or _text(catalog.get("participantId"))
            datasets.extend(self._flatten(catalog))
            url, pages = link_next(response), pages + 1
        return datasets

    def _flatten(self, catalog: Mapping[str, Any]) -> list[dict[str, Any]]:
        found = [d for d in _as_list(catalog.get("dataset")) if isinstance(d, dict)]
        for nested in _as_list(catalog.get("catalog")):
            if isinstance(nested, dict):
                found.extend(self._flatten(nested))
        return found

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        document, _ = self.client.get_json(f"{self.base}/catalog/datasets/{segment(dataset_id)}")
        return parse(document, "Dataset")

    # ------------------------------------------------------------------------------------ contract

    def acquire(self, candidate: Candidate) -> tuple[list[InputUnit], DatasetReport]:
        """Negotiate, start the transfer and list its files; a failure becomes the report's reason."""
        dataset_id = str(candidate.dataset["@id"])
        assert candidate.offer is not None
        policy_id = _text(candidate.offer.get("@id"))
        report = DatasetReport(
            self.source_index, dataset_id, "allow", candidate.decision.reason, self.provider_id
        )
        report.policy_id = policy_id
        try:
            agreement = self.negotiate(dataset_id, candidate.offer)
            report.agreement_id = str(agreement["@id"])
            report.publisher = _text(agreement.get("assigner")) or self.provider_id
            data_address = self.transfer(dataset_id, report.agreement_id)
            units = self.units(candidate, data_address, report)
        except (NegotiationFailed, PeerError, MessageError, UnsafeAddress) as exc:
            report.decision, report.reason = "failed", str(exc)
            log.warning("dataset %s: %s", dataset_id, exc)
            self._abandon(dataset_id, str(exc))
            return [], report
        report.files = len({unit.uri for unit in units})
        log.info("dataset %s: agreement %s, %d files", dataset_id, report.agreement_id, report.files)
        return units, report

    def negotiate(self, dataset_id: str, offer: Mapping[str, Any]) -> dict[str, Any]:
        """A finalized contract negotiation for ``offer``; its agreement."""
        requested = {
            **{k: v for k, v in offer.items() if k not in ("@context",)},
            "@type": "Offer",
            "target": dataset_id,
        }
        if self.provider_id:
            requested["assigner"] = self.provider_id
        if self.source.participant_id:
            requested["assignee"] = self.source.participant_id
        pid = new_pid()
        process = self.negotiations.create(Process(pid))
        self.negotiations.advance(pid, "ContractRequestMessage", offer=requested)
        request = message(
            "ContractRequestMessage", consumerPid=pid, offer=requested, callbackAddress=self.callback
        )
        try:
            answer = parse(
                self.client.post(f"{self.base}/negotiations/request", request, expect=(201,)),
                "ContractNegotiation",
            )
        except (PeerError, MessageError) as exc:
            self.negotiations.advance(pid, "ContractNegotiationTerminationMessage")
            raise NegotiationFailed(f"contract request refused: {exc}") from None
        process.peer_pid = process.peer_pid or str(answer["providerPid"])
        waiting = {NegotiationState.OFFERED, NegotiationState.AGREED, NegotiationState.TERMINATED}
        state = self._wait(self.negotiations, pid, waiting, "an offer or agreement")
        if state is NegotiationState.OFFERED:
            difference = policy_difference(requested, process.data["offer"])
            if difference is not None:
                self._terminate_negotiation(process, f"counter-offer not acceptable: {difference}")
                raise NegotiationFailed(
                    f"the provider counter-offered other terms ({difference}); terminated"
                )
            self._send_negotiation(process, "ContractNegotiationEventMessage", eventType="ACCEPTED")
            state = self._wait(
                self.negotiations, pid, {NegotiationState.AGREED, NegotiationState.TERMINATED}, "an agreement"
            )
        if state is NegotiationState.TERMINATED:
            raise NegotiationFailed(f"the provider terminated the negotiation: {process.data.get('reason')}")
        agreement = process.data["agreement"]
        problem = self._agreement_problem(dataset_id, requested, agreement)
        if problem is not None:
            self._terminate_negotiation(process, problem)
            raise NegotiationFailed(f"agreement refused: {problem}; terminated")
        self._send_negotiation(process, "ContractAgreementVerificationMessage")
        state = self._wait(
            self.negotiations,
            pid,
            {NegotiationState.FINALIZED, NegotiationState.TERMINATED},
            "the FINALIZED event",
        )
        if state is NegotiationState.TERMINATED:
            raise NegotiationFailed(f"the provider terminated the negotiation: {process.data.get('reason')}")
        return agreement

    def _agreement_problem(self, dataset_id: str, offer: Mapping[str, Any], agreement: Any) -> str | None:
        if not isinstance(agreement, Mapping) or not agreement.get("@id"):
            return "the agreement has no @id"
        if agreement.get("target") != dataset_id:
            return f"the agreement's target {agreement.get('target')!r} is not the dataset {dataset_id!r}"
        if self.provider_id and agreement.get("assigner") not in (None, self.provider_id):
            return f"the agreement's assigner {agreement.get('assigner')!r} is not the provider"
        if self.source.participant_id and agreement.get("assignee") != self.source.participant_id:
            return f"the agreement's assignee {agreement.get('assignee')!r} is not us"
        difference = policy_difference(offer, agreement)
        return None if difference is None else f"the agreement differs from the offer: {difference}"

    def _send(self, process: Process, type_: str, **fields: Any) -> None:
        """Move our record of ``process`` by a message of ``type_``, then post it to the provider."""
        msg = message(type_, providerPid=process.peer_pid, consumerPid=process.local_pid, **fields)
        transfer = type_.startswith("Transfer")
        table, area = (self.transfers, "transfers") if transfer else (self.negotiations, "negotiations")
        table.advance(process.local_pid, kind(msg))
        path = PROVIDER_ENDPOINTS[type_]
        self.client.post(f"{self.base}/{area}/{segment(str(process.peer_pid))}/{path}", msg)

    def _send_negotiation(self, process: Process, type_: str, **fields: Any) -> None:
        try:
            self._send(process, type_, **fields)
        except PeerError as exc:
            if type_ != "ContractNegotiationTerminationMessage":
                self._terminate_negotiation(process, f"the provider refused {type_}")
            raise NegotiationFailed(f"{type_} refused: {exc}") from None

    def _terminate_negotiation(self, process: Process, reason: str) -> None:
        if process.state in (NegotiationState.FINALIZED, NegotiationState.TERMINATED):
            return
        try:
            self._send_negotiation(
                process, "ContractNegotiationTerminationMessage", code="jaif:terminated", reason=[reason]
            )
        except NegotiationFailed as exc:
            log.warning("terminating negotiation %s: %s", process.local_pid, exc)

    def _wait(self, table: ProcessTable, pid: str, states: set[Any], what: str) -> Any:
        process = table.wait(pid, states, self.source.negotiation_timeout_s)
        if process is None:
            current = table.get(pid)
            if table is self.negotiations:
                self._terminate_negotiation(current, f"timed out waiting for {what}")
            else:
                self._terminate_transfer(current, f"timed out waiting for {what}")
            raise NegotiationFailed(
                f"timed out after {self.source.negotiation_timeout_s:g} s waiting for {what} "
                f"(state {current.state})"
            )
        return process.state

    # ------------------------------------------------------------------------------------ transfer

    def transfer(self, dataset_id: str, agreement_id: str) -> dict[str, Any]:
        """Start an HTTP-pull transfer under ``agreement_id``; the provider's data address."""
        pid = new_pid()
        process = self.transfers.create(Process(pid))
        self.transfers.advance(pid, "TransferRequestMessage")
        request = message(
            "TransferRequestMessage",
            consumerPid=pid,
            agreementId=agreement_id,
            format=HTTP_PULL,
            callbackAddress=self.callback,
        )
        try:
            answer = parse(
                self.client.post(f"{self.base}/transfers/request", request, expect=(201,)), "TransferProcess"
            )
        except (PeerError, MessageError) as exc:
            self.transfers.advance(pid, "TransferTerminationMessage")
            raise NegotiationFailed(f"transfer request refused: {exc}") from None
        process.peer_pid = process.peer_pid or str(answer["providerPid"])
        self.open_transfers.append(_Transfer(pid, None, dataset_id))
        state = self._wait(
            self.transfers, pid, {TransferState.STARTED, TransferState.TERMINATED}, "the transfer to start"
        )
        if state is TransferState.TERMINATED:
            raise NegotiationFailed(f"the provider terminated the transfer: {process.data.get('reason')}")
        address = process.data.get("dataAddress")
        if not isinstance(address, Mapping) or not address.get("endpoint"):
            self._terminate_transfer(process, "the start message carries no data address")
            raise NegotiationFailed("the provider started the transfer without a data address; terminated")
        try:
            check_data_address(str(address["endpoint"]), self.base)
        except UnsafeAddress as exc:
            self._terminate_transfer(process, str(exc))
            raise NegotiationFailed(f"{exc}; transfer terminated") from None
        return dict(address)

    def _terminate_transfer(self, process: Process, reason: str) -> None:
        if process.state in (TransferState.COMPLETED, TransferState.TERMINATED) or process.peer_pid is None:
            return
        try:
            self._send(process, "TransferTerminationMessage", code="jaif:terminated", reason=[reason])
        except PeerError as exc:
            log.warning("terminating transfer %s: %s", process.local_pid, exc)

    # ------------------------------------------------------------------------------------ files

    def units(
        self, candidate: Candidate, address: Mapping[str, Any], report: DatasetReport
    ) -> list[InputUnit]:
        """One unit per file behind the data address (split when large), reading with its token."""
        endpoint = str(address["endpoint"]).rstrip("/")
        header = authorization_header(endpoint_properties(address))
        transfer = self.open_transfers[-1]
        if header is not None:
            transfer.token_env = (
                TOKEN_ENV_PREFIX + hashlib.sha1(transfer.pid.encode()).hexdigest()[:16].upper()
            )
            os.environ[transfer.token_env] = header
        files = self._files(endpoint, header)
        dataset = candidate.dataset
        dataset_id = str(dataset["@id"])
        identity = f"{self.base}/catalog/datasets/{segment(dataset_id)}"
        provenance = {
            AGREEMENT_ID: str(report.agreement_id),
            POLICY: f"{candidate.decision.result}:{report.policy_id}",
            DATASET_ID: dataset_id,
        }
        if report.publisher:
            provenance[PUBLISHER] = report.publisher
        license_ = _text(dataset.get("license")) or self.source.license
        units: list[InputUnit] = []
        for path, size, fmt, modified in files:
            location = f"{endpoint}/{quote(path)}" if path else endpoint
            unit = InputUnit(
                source_index=self.source_index,
                uri=f"{identity}/{path}" if path else identity,
                format=fmt,
                text_field=self.source.text_field,
                id_field=self.source.id_field,
                limits=read_limits(self.source.limits),
                license=license_,
                retrieved_at=modified,
                connector="dsp",
                provenance=provenance,
                retries=retry_policy(self.source.retries),
                location=location,
                credential_env=transfer.token_env,
            )
            units.extend(self._split(unit, size, header))
        if not units:
            raise NegotiationFailed("the data address lists no files")
        return units

    def _files(self, endpoint: str, header: str | None) -> list[tuple[str, int | None, str, str | None]]:
        """(path, bytes, format, modified) of each file at the data address; path "" when it is one file."""
        headers, index = self.client.peek_data(endpoint, header, FILE_INDEX_TYPE)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if index is not None:
            entries = index.get("files") if isinstance(index, dict) else None
            if not isinstance(entries, list):
                raise MessageError("the data address's file index has no file list")
            files = []
            for entry in entries:
                path = str(entry.get("path") or "") if isinstance(entry, dict) else ""
                if not path or path.startswith("/") or ".." in path.split("/"):
                    raise MessageError(f"the file index names an unusable path {path!r}")
                fmt = entry.get("format") or format_from_name(path) or self.source.format
                if fmt is None:
                    raise NegotiationFailed(f"cannot tell the format of {path}; set `format` on the source")
                size = entry.get("bytes")
                files.append(
                    (path, size if isinstance(size, int) else None, str(fmt), _text(entry.get("modified")))
                )
            return sorted(files)
        fmt = self.source.format or _MEDIA_FORMATS.get(media) or format_from_name(urlsplit(endpoint).path)
        if fmt is None:
            raise NegotiationFailed(
                f"cannot tell the format of the data ({media or 'no media type'}); set `format`"
            )
        length = headers.get("content-length")
        return [("", int(length) if length and length.isdigit() else None, fmt, None)]

    def _split(self, unit: InputUnit, size: int | None, header: str | None) -> list[InputUnit]:
        if size is None or size <= self.source.split_mb * 1024 * 1024:
            return [unit]
        options: dict[str, Any] = {"allow_redirects": False}
        if header is not None:
            options["headers"] = {"Authorization": header}
        fs = fsspec.filesystem("http", **options)
        return file_units(fs, unit.read_url, {"size": size}, unit, self.source.split_mb)

    # ------------------------------------------------------------------------------------ callbacks

    @property
    def callback(self) -> str:
        return (self.source.callback_address or self.callbacks.url()).rstrip("/")

    def _callback_server(self) -> JsonServer:
        host, port = self.source.callback_listen.rsplit(":", 1)
        server = JsonServer(host, int(port), self.transcript, name="dsp-consumer-callbacks")
        path = urlsplit(self.source.callback_address).path.rstrip("/") if self.source.callback_address else ""
        for tail, type_ in NEGOTIATION_CALLBACKS.items():
            server.route(
                "POST", f"{path}/negotiations/{{pid}}/{tail}", self._callback(self.negotiations, type_)
            )
        server.route("POST", f"{path}/negotiations/offers", self._unsolicited_offer)
        for tail, type_ in TRANSFER_CALLBACKS.items():
            handler = self._callback(self.transfers, type_)
            server.route("POST", f"{path}/transfers/{{pid}}/{tail}", handler, error_type="TransferError")
        return server.start()

    def _callback(self, table: ProcessTable, type_: str) -> Callable[[Request], Response]:
        """The handler of one callback endpoint: a ``type_`` message from the provider moves its process."""

        def handle(request: Request) -> Response:
            msg, process = self._incoming(request, (type_,), table)
            data = {key: msg[key] for key in ("offer", "agreement", "reason") if key in msg}
            if type_ == "TransferStartMessage" and process.state is TransferState.REQUESTED:
                if not isinstance(msg.get("dataAddress"), Mapping):
                    raise MessageError("a TransferStartMessage for HTTP pull must carry a dataAddress")
                data["dataAddress"] = msg["dataAddress"]
            table.advance(process.local_pid, kind(msg), **data)
            if type_ in ("TransferSuspensionMessage", "TransferTerminationMessage"):
                log.warning(
                    "the provider sent %s for transfer %s: %s", type_, process.local_pid, msg.get("reason")
                )
            return Response(200)

        return handle

    def _incoming(
        self, request: Request, types: tuple[str, ...], table: ProcessTable
    ) -> tuple[dict, Process]:
        msg = parse(request.json(), *types)
        process = table.get(request.params["pid"])  # 404 for an unknown process
        if msg.get("consumerPid") != process.local_pid:
            raise MessageError("consumerPid does not match the process in the path")
        if kind(msg) not in PROVIDER_SENDS:
            raise InvalidTransition(f"a provider does not send {kind(msg)}")
        if process.peer_pid is None:
            process.peer_pid = str(msg["providerPid"])
        elif msg.get("providerPid") != process.peer_pid:
            raise MessageError("providerPid does not match this process")
        return msg, process

    def _unsolicited_offer(self, request: Request) -> Response:
        parse(request.json(), "ContractOfferMessage")
        raise InvalidTransition(
            "this consumer negotiates only what it requested; unsolicited offers are refused"
        )

    # ------------------------------------------------------------------------------------ close

    def _abandon(self, dataset_id: str, reason: str) -> None:
        """Terminate the transfer of a dataset that will not be read, and drop its token."""
        for transfer in [t for t in self.open_transfers if t.dataset_id == dataset_id]:
            self._terminate_transfer(self.transfers.get(transfer.pid), reason)
            if transfer.token_env:
                os.environ.pop(transfer.token_env, None)
            self.open_transfers.remove(transfer)

    def close(self, succeeded: bool) -> None:
        """Complete (or terminate) every open transfer, drop the tokens, stop listening."""
        try:
            for transfer in self.open_transfers:
                self._finish(transfer, succeeded)
        finally:
            for transfer in self.open_transfers:
                if transfer.token_env:
                    os.environ.pop(transfer.token_env, None)
            self.open_transfers = []
            self.callbacks.stop()
            self.client.close()

    def _finish(self, transfer: _Transfer, succeeded: bool) -> None:
        process = self.transfers.get(transfer.pid)
        if process.state is TransferState.STARTED and succeeded:
            try:
                self._send(process, "TransferCompletionMessage")
            except PeerError as exc:
                log.warning("completing transfer of %s: %s", transfer.dataset_id, exc)
        else:
            reason = "the run failed" if not succeeded else f"the transfer ended in state {process.state}"
            self._terminate_transfer(process, reason)
