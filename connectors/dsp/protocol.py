"""The Dataspace Protocol 2025-1 vocabulary: message types, process states and their transitions.

One table says which message moves a contract negotiation or a transfer process from which
state to which; the consumer's callback endpoints and the provider's endpoints both judge
incoming messages by it (a message invalid in the current state is answered 400, one for an
unknown process 404), and both sides move their own record by it when they send.

Messages are plain JSON objects in the compacted form of the DSP context. Incoming messages
are normalised first, so that 2024-1 style prefixed terms (``dspace:state``,
``dspace:REQUESTED``) are accepted as well.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

VERSION = "2025-1"
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
HTTP_PULL = "HttpData-PULL"  # the transfer format this project speaks
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"

# Prefixes that name DSP / ODRL terms in older or expanded encodings; stripped on input.
_TERM_PREFIXES = (
    "dspace:",
    "https://w3id.org/dspace/2025/1/",
    "https://w3id.org/dspace/v0.8/",
    "odrl:",
    "http://www.w3.org/ns/odrl/2/",
    "dcat:",
    "http://www.w3.org/ns/dcat#",
    "dct:",
    "http://purl.org/dc/terms/",
)
# Keys whose values are DSP terms themselves (not ids), e.g. "dspace:REQUESTED".
_TERM_VALUED = {"@type", "state", "eventType"}


class NegotiationState(StrEnum):
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class TransferState(StrEnum):
    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


FINAL_STATES = frozenset(
    {
        NegotiationState.FINALIZED,
        NegotiationState.TERMINATED,
        TransferState.COMPLETED,
        TransferState.TERMINATED,
    }
)

N, T = NegotiationState, TransferState
_LIVE_NEGOTIATION = frozenset(set(N) - {N.FINALIZED, N.TERMINATED})
_LIVE_TRANSFER = frozenset(set(T) - {T.COMPLETED, T.TERMINATED})

# message kind -> (states it may arrive in; None = it creates the process, the state it leads to).
# The kind is the message type, with the event type for event messages.
TRANSITIONS: dict[str, tuple[frozenset[Any], StrEnum]] = {
    "ContractRequestMessage": (frozenset({None, N.OFFERED}), N.REQUESTED),
    "ContractOfferMessage": (frozenset({None, N.REQUESTED}), N.OFFERED),
    "ContractNegotiationEventMessage:ACCEPTED": (frozenset({N.OFFERED}), N.ACCEPTED),
    "ContractAgreementMessage": (frozenset({N.REQUESTED, N.ACCEPTED}), N.AGREED),
    "ContractAgreementVerificationMessage": (frozenset({N.AGREED}), N.VERIFIED),
    "ContractNegotiationEventMessage:FINALIZED": (frozenset({N.VERIFIED}), N.FINALIZED),
    "ContractNegotiationTerminationMessage": (_LIVE_NEGOTIATION, N.TERMINATED),
    "TransferRequestMessage": (frozenset({None}), T.REQUESTED),
    "TransferStartMessage": (frozenset({T.REQUESTED, T.SUSPENDED}), T.STARTED),
    "TransferSuspensionMessage": (frozenset({T.STARTED}), T.SUSPENDED),
    "TransferCompletionMessage": (frozenset({T.STARTED}), T.COMPLETED),
    "TransferTerminationMessage": (_LIVE_TRANSFER, T.TERMINATED),
}

# Fields every message of a type must carry (beyond @context and @type).
REQUIRED: dict[str, tuple[str, ...]] = {
    "CatalogRequestMessage": (),
    "DatasetRequestMessage": ("dataset",),
    "Catalog": (),
    "Dataset": ("@id",),
    "CatalogError": (),
    "ContractRequestMessage": ("consumerPid", "offer"),
    "ContractOfferMessage": ("providerPid", "offer"),
    "ContractAgreementMessage": ("providerPid", "consumerPid", "agreement"),
    "ContractAgreementVerificationMessage": ("providerPid", "consumerPid"),
    "ContractNegotiationEventMessage": ("providerPid", "consumerPid", "eventType"),
    "ContractNegotiationTerminationMessage": ("providerPid", "consumerPid"),
    "ContractNegotiation": ("providerPid", "consumerPid", "state"),
    "ContractNegotiationError": (),
    "TransferRequestMessage": ("consumerPid", "agreementId", "format", "callbackAddress"),
    "TransferStartMessage": ("providerPid", "consumerPid"),
    "TransferSuspensionMessage": ("providerPid", "consumerPid"),
    "TransferCompletionMessage": ("providerPid", "consumerPid"),
    "TransferTerminationMessage": ("providerPid", "consumerPid"),
    "TransferProcess": ("providerPid", "consumerPid", "state"),
    "TransferError": (),
}


class MessageError(ValueError):
    """A message that is not a valid DSP message of the expected kind (answered 400)."""


class InvalidTransition(ValueError):
    """A valid message that the process's current state does not allow (answered 400)."""


class UnknownProcess(KeyError):
    """A message for a process this side does not know (answered 404)."""


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def message(type_: str, **fields: Any) -> dict[str, Any]:
    """A DSP message in compacted form; fields that are None are left out."""
    return {"@context": [DSP_CONTEXT], "@type": type_, **{k: v for k, v in fields.items() if v is not None}}


def _term(value: str) -> str:
    for prefix in _TERM_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def normalize(value: Any) -> Any:
    """Strip namespace prefixes from keys (and from term values such as ``@type``/``state``)."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = _term(str(key))
            if name in _TERM_VALUED and isinstance(item, str):
                out[name] = _term(item)
            elif name in _TERM_VALUED and isinstance(item, Mapping) and "@id" in item:
                out[name] = _term(str(item["@id"]))
            else:
                out[name] = normalize(item)
        return out
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def parse(body: Any, *types: str) -> dict[str, Any]:
    """Check ``body`` is a message of one of ``types`` with its required fields; return it normalised."""
    if not isinstance(body, Mapping):
        raise MessageError("a DSP message must be a JSON object")
    msg = normalize(body)
    type_ = msg.get("@type")
    if type_ not in types:
        raise MessageError(f"expected {' or '.join(types)}, got @type {type_!r}")
    missing = [name for name in REQUIRED.get(type_, ()) if msg.get(name) in (None, "", [])]
    if missing:
        raise MessageError(f"{type_} lacks {', '.join(missing)}")
    for name in ("providerPid", "consumerPid", "agreementId", "callbackAddress"):
        if name in msg and not isinstance(msg[name], str):
            raise MessageError(f"{type_}.{name} must be a string")
    return msg


def kind(msg: Mapping[str, Any]) -> str:
    """The transition key of a parsed message: its type, with the event type for event messages."""
    type_ = str(msg["@type"])
    return f"{type_}:{msg['eventType']}" if type_ == "ContractNegotiationEventMessage" else type_


def endpoint_properties(data_address: Mapping[str, Any]) -> dict[str, str]:
    """A DataAddress's ``endpointProperties`` as a name -> value mapping."""
    props = data_address.get("endpointProperties") or []
    if isinstance(props, Mapping):
        props = [props]
    return {str(p.get("name")): str(p.get("value")) for p in props if isinstance(p, Mapping) and "name" in p}


def error_body(
    type_: str,
    reason: str,
    status: int = 400,
    provider_pid: str | None = None,
    consumer_pid: str | None = None,
) -> dict[str, Any]:
    """A DSP error message (``ContractNegotiationError``, ``TransferError``, ``CatalogError``).

    The negotiation and transfer error schemas require both process ids; an id this side does
    not know is sent empty.
    """
    if type_ == "CatalogError":
        return message(type_, code=str(status), reason=[reason])
    return message(
        type_,
        providerPid=provider_pid or "",
        consumerPid=consumer_pid or "",
        code=str(status),
        reason=[reason],
    )


@dataclass
class Process:
    """One side's record of a negotiation or transfer: its ids, state and what it carried."""

    local_pid: str
    state: StrEnum | None = None
    peer_pid: str | None = None
    callback: str | None = None  # where the peer takes messages for this process
    data: dict[str, Any] = field(default_factory=dict)  # offer, agreement, data address, reasons ...
    history: list[str] = field(default_factory=list)  # the states it went through


class ProcessTable:
    """Processes by local id, moved only through :data:`TRANSITIONS`; waiters wake on every change."""

    def __init__(self) -> None:
        self._processes: dict[str, Process] = {}
        self._changed = threading.Condition()

    def create(self, process: Process) -> Process:
        with self._changed:
            self._processes[process.local_pid] = process
            self._changed.notify_all()
        return process

    def get(self, pid: str) -> Process:
        with self._changed:
            if pid not in self._processes:
                raise UnknownProcess(pid)
            return self._processes[pid]

    def advance(self, pid: str, kind_: str, **data: Any) -> Process:
        """Apply the transition of a message of kind ``kind_`` to process ``pid``, or raise."""
        if kind_ not in TRANSITIONS:
            raise InvalidTransition(f"no transition for {kind_}")
        allowed, target = TRANSITIONS[kind_]
        with self._changed:
            if pid not in self._processes:
                raise UnknownProcess(pid)
            process = self._processes[pid]
            if process.state not in allowed:
                raise InvalidTransition(f"{kind_} is not allowed in state {process.state}")
            process.state = target
            process.history.append(str(target))
            process.data.update(data)
            self._changed.notify_all()
            return process

    def wait(self, pid: str, states: set[Any], timeout_s: float) -> Process | None:
        """Block until process ``pid`` is in one of ``states``; None on timeout."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: pid in self._processes and self._processes[pid].state in states, timeout_s
            )
            return self._processes[pid] if ok else None

    def all(self) -> list[Process]:
        with self._changed:
            return list(self._processes.values())


# The provider's data plane (HTTP pull). A data address whose endpoint answers with this media type
# lists several files, each then read at ``{endpoint}/{path}``; any other answer is the data itself.
FILE_INDEX_TYPE = "application/vnd.jaif.file-index+json"  # {"files": [{"path", "bytes", "format", "sha256"}]}


def authorization_header(properties: Mapping[str, str]) -> str | None:
    """The ``Authorization`` header value for a data address's endpoint properties."""
    token = properties.get("authorization")
    if not token:
        return None
    auth_type = properties.get("authType", "").lower()
    if auth_type == "bearer" and not token.lower().startswith("bearer "):
        return f"Bearer {token}"
    return token


# Where a consumer posts a message on the provider, under ``negotiations/{providerPid}/`` or
# ``transfers/{providerPid}/`` (the HTTPS binding's provider paths).
PROVIDER_ENDPOINTS = {
    "ContractRequestMessage": "request",
    "ContractNegotiationEventMessage": "events",
    "ContractAgreementVerificationMessage": "agreement/verification",
    "ContractNegotiationTerminationMessage": "termination",
    "TransferStartMessage": "start",
    "TransferSuspensionMessage": "suspension",
    "TransferCompletionMessage": "completion",
    "TransferTerminationMessage": "termination",
}

# Who may send which message: each side's endpoints accept only what the other side may send.
CONSUMER_SENDS = frozenset(
    {
        "ContractRequestMessage",
        "ContractNegotiationEventMessage:ACCEPTED",
        "ContractAgreementVerificationMessage",
        "ContractNegotiationTerminationMessage",
        "TransferRequestMessage",
        "TransferStartMessage",  # resuming a suspended transfer
        "TransferSuspensionMessage",
        "TransferCompletionMessage",
        "TransferTerminationMessage",
    }
)
PROVIDER_SENDS = frozenset(
    {
        "ContractOfferMessage",
        "ContractAgreementMessage",
        "ContractNegotiationEventMessage:FINALIZED",
        "ContractNegotiationTerminationMessage",
        "TransferStartMessage",
        "TransferSuspensionMessage",
        "TransferCompletionMessage",
        "TransferTerminationMessage",
    }
)
