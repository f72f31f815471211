"""A scripted DSP provider on loopback for consumer tests: it answers the consumer's requests and
lets a test send any message to the consumer's callback endpoints, in any order, to check how
the consumer reacts (the TCK's way of testing a consumer)."""

from __future__ import annotations

import json
import queue
from collections.abc import Callable
from typing import Any

import httpx

from connectors.dsp.http import JsonServer, Request, Response
from connectors.dsp.protocol import DSP_CONTEXT, FILE_INDEX_TYPE, message, new_pid

PARTICIPANT = "urn:example:scripted-provider"
DATASET = "urn:uuid:scripted-dataset"
OFFER_ID = "urn:uuid:scripted-offer"
TOKEN = "scripted-data-plane-token"
USE = {"permission": [{"action": "use"}]}


def offer(rules: dict[str, Any] | None = None, offer_id: str = OFFER_ID) -> dict[str, Any]:
    return {"@id": offer_id, "@type": "Offer", **(rules or USE)}


class ScriptedProvider:
    """Version, catalog and dataset endpoints for one dataset; every other request is queued.

    ``received`` yields ``(path, message)`` for each POST the consumer sent. Negotiation and
    transfer requests are answered 201 with fresh provider ids; the test then drives the
    consumer through :meth:`send`.
    """

    def __init__(self, rules: dict[str, Any] | None = None, files: dict[str, bytes] | None = None) -> None:
        self.rules = rules or USE
        self.files = files or {"part-0.jsonl": b'{"text": "Guten Tag, dies ist ein Satz."}\n'}
        self.received: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.server = JsonServer("127.0.0.1", 0, name="scripted-provider")
        self.provider_pid = new_pid()
        self.transfer_pid = new_pid()
        self.answers: dict[str, int] = {}  # path suffix -> status to answer instead of 200
        self.log: list[dict[str, Any]] = []  # every message the consumer sent or answered with
        self.server.route("GET", "/.well-known/dspace-version", self._version)
        self.server.route("POST", "/dsp/catalog/request", self._catalog)
        self.server.route("GET", "/dsp/catalog/datasets/{id}", self._dataset)
        self.server.route(
            "POST", "/dsp/negotiations/request", self._created("ContractNegotiation", "REQUESTED")
        )
        self.server.route("POST", "/dsp/transfers/request", self._created("TransferProcess", "REQUESTED"))
        for tail in ("events", "agreement/verification", "termination", "request"):
            self.server.route("POST", f"/dsp/negotiations/{{pid}}/{tail}", self._queued)
        for tail in ("start", "completion", "suspension", "termination"):
            self.server.route("POST", f"/dsp/transfers/{{pid}}/{tail}", self._queued)
        self.server.route("GET", "/redirect", self._redirect)
        self.server.route("GET", "/data", self._data_index)
        self.server.route("GET", "/data/{name}", self._data_file)

    def __enter__(self) -> ScriptedProvider:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url()

    def dataset(self) -> dict[str, Any]:
        return {
            "@id": DATASET,
            "@type": "Dataset",
            "hasPolicy": [offer(self.rules)],
            "distribution": [
                {"@type": "Distribution", "format": "HttpData-PULL", "accessService": "urn:svc"}
            ],
        }

    def _version(self, request: Request) -> Response:
        return Response(
            200, {"protocolVersions": [{"version": "2025-1", "path": "/dsp", "binding": "HTTPS"}]}
        )

    def _catalog(self, request: Request) -> Response:
        catalog = {
            "@context": [DSP_CONTEXT],
            "@id": "urn:uuid:scripted-catalog",
            "@type": "Catalog",
            "participantId": PARTICIPANT,
            "dataset": [self.dataset()],
        }
        return Response(200, catalog)

    def _dataset(self, request: Request) -> Response:
        if request.params["id"] != DATASET:
            return Response(404, message("CatalogError", reason=["no such dataset"]))
        return Response(200, {"@context": [DSP_CONTEXT], **self.dataset()})

    def _created(self, type_: str, state: str) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            body = request.json()
            self.received.put((request.path, body))
            self.log.append(body)
            pid = self.provider_pid if type_ == "ContractNegotiation" else self.transfer_pid
            status = self.answers.get(request.path.rsplit("/", 1)[-1], 201)
            return Response(
                status, message(type_, providerPid=pid, consumerPid=body["consumerPid"], state=state)
            )

        return handle

    def _queued(self, request: Request) -> Response:
        self.received.put((request.path, request.json()))
        self.log.append(request.json())
        return Response(self.answers.get(request.path.rsplit("/", 1)[-1], 200))

    def _redirect(self, request: Request) -> Response:
        return Response(302, headers={"Location": "http://127.0.0.2:9/elsewhere"})

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def _data_index(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(401)
        files = [{"path": name, "bytes": len(data)} for name, data in sorted(self.files.items())]
        body = json.dumps({"files": files}).encode()
        return Response(
            200, headers={"Content-Type": FILE_INDEX_TYPE, "Content-Length": str(len(body))}, stream=[body]
        )

    def _data_file(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(401)
        data = self.files.get(request.params["name"])
        if data is None:
            return Response(404)
        return Response(200, headers={"Content-Length": str(len(data))}, stream=[data])

    # ------------------------------------------------------------------------------ driving

    def next(self, timeout_s: float = 10.0) -> tuple[str, dict[str, Any]]:
        return self.received.get(timeout=timeout_s)

    def send(self, callback: str, path: str, type_: str, consumer_pid: str, **fields: Any) -> int:
        """POST a provider message to the consumer's callback; its HTTP status."""
        provider_pid = fields.pop("provider_pid", None) or (
            self.transfer_pid if path.startswith("transfers/") else self.provider_pid
        )
        msg = message(type_, providerPid=provider_pid, consumerPid=consumer_pid, **fields)
        response = httpx.post(f"{callback.rstrip('/')}/{path}", json=msg, timeout=10)
        if response.content:
            self.log.append(response.json())  # the consumer's error answers are DSP messages too
        return response.status_code

    def data_address(self, token: str = TOKEN, endpoint: str | None = None) -> dict[str, Any]:
        return {
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": endpoint or f"{self.url}/data",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": token},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
            ],
        }
