"""The DSP provider through real HTTP on loopback: catalog, negotiation, transfer, data plane, command line.

A fake consumer (a :class:`JsonServer` on loopback) takes the provider's callbacks and records
them. Every message the provider answers or sends is checked against the official DSP 2025-1
JSON Schemas (skipped where ``../shared/dsp-2025-1`` is absent).
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dsp_schemas import assert_valid
from loopback import free_port

import connectors.dsp.provider as provider_module
from connectors.dsp.http import JsonServer, Request, Response, link_next
from connectors.dsp.protocol import FILE_INDEX_TYPE, NegotiationState, message, new_pid
from connectors.dsp.provider import DspProvider, byte_range
from schemas.config import ConfigError
from schemas.provider import load_provider_config, parse_provider_config

REPO = Path(__file__).resolve().parent.parent
USE = {"permission": [{"action": "use"}]}
EU_ONLY = {
    "permission": [
        {"action": "use", "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}]}
    ]
}
BIG = bytes(range(256)) * (10 * 1024 + 7)  # a little over 2.5 MiB: several data-plane chunks


class FakeConsumer:
    """The consumer's callback endpoints: record every message the provider sends, answer 200."""

    def __init__(self) -> None:
        self.server = JsonServer("127.0.0.1", 0, name="fake-consumer")
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        for area in ("negotiations", "transfers"):
            self.server.route("POST", f"/callback/{area}/{{pid}}/{{what}}", self._record)

    @property
    def callback(self) -> str:
        return self.server.url() + "/callback"

    def _record(self, request: Request) -> Response:
        with self._changed:
            self.received.append(request.json())
            self._changed.notify_all()
        return Response(200)

    def wait(self, type_: str, event: str | None = None, timeout_s: float = 3.0) -> dict[str, Any]:
        """The first message of ``type_`` (and event type) the provider sent; fail after ``timeout_s``."""

        def found() -> dict[str, Any] | None:
            return next(
                (
                    m
                    for m in self.received
                    if m.get("@type") == type_ and (event is None or m.get("eventType") == event)
                ),
                None,
            )

        with self._changed:
            assert self._changed.wait_for(found, timeout_s), f"no {type_} {event or ''} arrived"
            return found()  # type: ignore[return-value]


@pytest.fixture
def consumer() -> Iterator[FakeConsumer]:
    fake = FakeConsumer()
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    (root / "sub").mkdir(parents=True)
    (root / "a.jsonl").write_text('{"text": "Hallo Welt"}\n')
    (root / "sub" / "b.jsonl").write_text('{"text": "Bonjour"}\n{"text": "Salut"}\n')
    (root / "sub" / "big.txt").write_bytes(BIG)
    (tmp_path / "secret.txt").write_text("not part of any dataset")
    return root


def _config(files: Path, **extra: Any) -> dict[str, Any]:
    return {
        "participant_id": "urn:example:provider",
        "title": "Test provider",
        "datasets": [
            {"id": "ds-folder", "title": "Folder", "url": str(files), "license": "CC-BY-4.0", "policy": USE},
            {"id": "ds-counter", "url": str(files / "a.jsonl"), "policy": USE, "counter_offer": EU_ONLY},
            {"id": "ds-glob", "description": "Glob", "url": str(files / "sub" / "*.jsonl"), "policy": USE},
        ],
        **extra,
    }


@pytest.fixture
def provider(files: Path) -> Iterator[DspProvider]:
    with DspProvider(parse_provider_config(_config(files)), base_path="/dsp") as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def slow_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's own messages wait (until it stops), so that a process stays in the state a
    request put it in."""
    monkeypatch.setattr(provider_module, "SEND_DELAY_S", 30.0)


# ---------------------------------------------------------------------------------------------- helpers


def _json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert_valid(body)
    return body


def _catalog(http: httpx.Client, provider: DspProvider, query: str = "") -> httpx.Response:
    return http.post(f"{provider.url}/catalog/request{query}", json=message("CatalogRequestMessage"))


def _offer(http: httpx.Client, provider: DspProvider, dataset_id: str) -> dict[str, Any]:
    dataset = _json(http.get(f"{provider.url}/catalog/datasets/{dataset_id}"), 200)
    return dataset["hasPolicy"][0]


def _request(
    http: httpx.Client, provider: DspProvider, consumer: FakeConsumer, dataset_id: str, **offer: Any
) -> tuple[httpx.Response, str]:
    """POST an initial contract request for the catalog offer of ``dataset_id`` (fields replaced by
    ``offer``); return the answer and the consumer pid."""
    consumer_pid = new_pid()
    body = message(
        "ContractRequestMessage",
        consumerPid=consumer_pid,
        callbackAddress=consumer.callback,
        offer={**_offer(http, provider, dataset_id), "target": dataset_id, **offer},
    )
    assert_valid(body)
    return http.post(f"{provider.url}/negotiations/request", json=body), consumer_pid


def _requested(http: httpx.Client, provider: DspProvider, consumer: FakeConsumer, dataset_id: str) -> dict:
    response, _ = _request(http, provider, consumer, dataset_id)
    negotiation = _json(response, 201)
    assert negotiation["state"] == "REQUESTED"
    return negotiation


# The consumer's message for each provider endpoint below /negotiations/{pid} and /transfers/{pid}.
CONSUMER_MESSAGES = {
    ("negotiations", "request"): "ContractRequestMessage",
    ("negotiations", "events"): "ContractNegotiationEventMessage",
    ("negotiations", "agreement/verification"): "ContractAgreementVerificationMessage",
    ("negotiations", "termination"): "ContractNegotiationTerminationMessage",
    ("transfers", "start"): "TransferStartMessage",
    ("transfers", "completion"): "TransferCompletionMessage",
    ("transfers", "suspension"): "TransferSuspensionMessage",
    ("transfers", "termination"): "TransferTerminationMessage",
}


def _send(
    http: httpx.Client, provider: DspProvider, process: dict, action: str, **fields: Any
) -> httpx.Response:
    """POST the consumer's message for ``action`` (e.g. ``agreement/verification``) about ``process``,
    a ContractNegotiation or TransferProcess answer of the provider."""
    area = "negotiations" if process["@type"] == "ContractNegotiation" else "transfers"
    pid = process["providerPid"]
    body = message(
        CONSUMER_MESSAGES[area, action], providerPid=pid, consumerPid=process["consumerPid"], **fields
    )
    assert_valid(body)
    return http.post(f"{provider.url}/{area}/{pid}/{action}", json=body)


def _verify(http: httpx.Client, provider: DspProvider, consumer: FakeConsumer, negotiation: dict) -> dict:
    """Verify the agreement the consumer received and wait for the FINALIZED event."""
    assert _send(http, provider, negotiation, "agreement/verification").status_code == 200
    finalized = consumer.wait("ContractNegotiationEventMessage", "FINALIZED")
    assert_valid(finalized)
    return finalized


def _agreement(http: httpx.Client, provider: DspProvider, consumer: FakeConsumer, dataset_id: str) -> str:
    """Negotiate ``dataset_id`` to FINALIZED; return the agreement id."""
    negotiation = _requested(http, provider, consumer, dataset_id)
    agreement = consumer.wait("ContractAgreementMessage")
    _verify(http, provider, consumer, negotiation)
    provider.negotiations.wait(negotiation["providerPid"], {NegotiationState.FINALIZED}, 2)
    return agreement["agreement"]["@id"]


def _transfer_body(consumer: FakeConsumer, agreement_id: str, fmt: str = "HttpData-PULL") -> dict:
    body = message(
        "TransferRequestMessage",
        consumerPid=new_pid(),
        agreementId=agreement_id,
        format=fmt,
        callbackAddress=consumer.callback,
    )
    assert_valid(body)
    return body


def _started(
    http: httpx.Client, provider: DspProvider, consumer: FakeConsumer, dataset_id: str = "ds-folder"
) -> tuple[dict, str, str]:
    """A STARTED transfer of ``dataset_id``: its ids, data endpoint and token."""
    agreement_id = _agreement(http, provider, consumer, dataset_id)
    transfer = _json(
        http.post(f"{provider.url}/transfers/request", json=_transfer_body(consumer, agreement_id)), 201
    )
    assert transfer["state"] == "REQUESTED"
    start = consumer.wait("TransferStartMessage")
    assert_valid(start)
    assert (start["providerPid"], start["consumerPid"]) == (transfer["providerPid"], transfer["consumerPid"])
    address = start["dataAddress"]
    properties = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert address["endpointType"] == "https://w3id.org/idsa/v4.1/HTTP"
    assert properties["authType"] == "bearer" and len(properties["authorization"]) >= 32
    return transfer, address["endpoint"], properties["authorization"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------- config


def test_config_errors_name_the_key_path(files: Path) -> None:
    data = _config(files)
    data["datasets"][0]["policy"] = {"obligation": [{"action": "attribute"}]}
    data["datasets"][1]["colour"] = "blue"
    with pytest.raises(ConfigError) as error:
        parse_provider_config(data)
    message_ = str(error.value)
    assert "datasets[0].policy" in message_ and "permission" in message_
    assert "datasets[1].colour: unknown key" in message_
    repeated = _config(files)
    repeated["datasets"][2]["id"] = "ds-folder"
    with pytest.raises(ConfigError, match="datasets: .*dataset ids must be unique; repeated: ds-folder"):
        parse_provider_config(repeated)


def test_config_reads_yaml_and_json(tmp_path: Path, files: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps(_config(files)))
    config = load_provider_config(tmp_path / "p.json")
    assert config.datasets[1].counter_offer == EU_ONLY
    assert config.token_ttl_s == 3600 and config.callback_timeout_s == 10
    (tmp_path / "p.yaml").write_text(
        "participant_id: urn:x\n"
        "datasets:\n  - id: d\n    url: /data\n    policy:\n      permission: {action: use}\n"
    )
    assert load_provider_config(tmp_path / "p.yaml").datasets[0].policy == USE
    with pytest.raises(ConfigError, match="not found"):
        load_provider_config(tmp_path / "missing.yaml")


# ---------------------------------------------------------------------------------------------- catalog


def test_version_document_is_at_the_server_root(provider: DspProvider, http: httpx.Client) -> None:
    root = provider.url.removesuffix("/dsp")
    version = _json(http.get(f"{root}/.well-known/dspace-version"), 200)
    assert version == {"protocolVersions": [{"version": "2025-1", "path": "/dsp", "binding": "HTTPS"}]}
    assert http.get(f"{provider.url}/.well-known/dspace-version").status_code == 404


def test_catalog_offers_every_dataset(provider: DspProvider, http: httpx.Client) -> None:
    response = _catalog(http, provider)
    catalog = _json(response, 200)
    assert "link" not in response.headers
    assert catalog["participantId"] == "urn:example:provider"
    service = catalog["service"][0]
    assert service["endpointURL"] == provider.url
    assert [d["@id"] for d in catalog["dataset"]] == ["ds-folder", "ds-counter", "ds-glob"]
    folder = catalog["dataset"][0]
    assert folder["dct:title"] == "Folder" and folder["dct:license"] == "CC-BY-4.0"
    assert folder["distribution"] == [
        {"@type": "Distribution", "format": "HttpData-PULL", "accessService": service["@id"]}
    ]
    offer = folder["hasPolicy"][0]
    assert "target" not in offer and offer["permission"] == USE["permission"]
    assert offer["@id"].startswith("urn:jaif:offer:")
    assert _catalog(http, provider).json() == catalog  # ids are stable


def test_catalog_pages_with_link_headers(provider: DspProvider, http: httpx.Client) -> None:
    first = _catalog(http, provider, "?limit=2")
    assert [d["@id"] for d in _json(first, 200)["dataset"]] == ["ds-folder", "ds-counter"]
    next_url = link_next(first)
    assert next_url == f"{provider.url}/catalog/request?offset=2&limit=2"
    second = http.post(next_url, json=message("CatalogRequestMessage"))
    assert [d["@id"] for d in _json(second, 200)["dataset"]] == ["ds-glob"]
    assert link_next(second) is None
    assert 'rel="previous"' in second.headers["link"] and "offset=0&limit=2" in second.headers["link"]
    assert _json(_catalog(http, provider, "?limit=0"), 400)["@type"] == "CatalogError"


def test_dataset_by_id(provider: DspProvider, http: httpx.Client) -> None:
    dataset = _json(http.get(f"{provider.url}/catalog/datasets/ds-glob"), 200)
    assert dataset["@id"] == "ds-glob" and dataset["dct:description"] == "Glob"
    assert (
        dataset["hasPolicy"][0]["@id"] == _catalog(http, provider).json()["dataset"][2]["hasPolicy"][0]["@id"]
    )
    error = _json(http.get(f"{provider.url}/catalog/datasets/nope"), 404)
    assert error["@type"] == "CatalogError"


# ---------------------------------------------------------------------------------------------- negotiation


def test_negotiation_to_finalized(provider: DspProvider, consumer: FakeConsumer, http: httpx.Client) -> None:
    negotiation = _requested(http, provider, consumer, "ds-folder")
    pid = negotiation["providerPid"]
    agreement_message = consumer.wait("ContractAgreementMessage")
    assert_valid(agreement_message)
    agreement = agreement_message["agreement"]
    assert agreement_message["providerPid"] == pid
    assert agreement["target"] == "ds-folder" and agreement["assigner"] == "urn:example:provider"
    assert agreement["assignee"] == "urn:jaif:anonymous-consumer"
    assert agreement["permission"] == USE["permission"]
    assert _json(http.get(f"{provider.url}/negotiations/{pid}"), 200)["state"] == "AGREED"
    _verify(http, provider, consumer, negotiation)
    assert provider.negotiations.wait(pid, {NegotiationState.FINALIZED}, 2) is not None
    assert _json(http.get(f"{provider.url}/negotiations/{pid}"), 200)["state"] == "FINALIZED"


def test_agreement_names_the_assignee_the_consumer_gave(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    response, _ = _request(http, provider, consumer, "ds-folder", assignee="urn:example:consumer")
    assert response.status_code == 201
    assert consumer.wait("ContractAgreementMessage")["agreement"]["assignee"] == "urn:example:consumer"


def test_counter_offer_then_accepted(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    negotiation = _requested(http, provider, consumer, "ds-counter")
    offer_message = consumer.wait("ContractOfferMessage")
    assert_valid(offer_message)
    offer = offer_message["offer"]
    assert offer["target"] == "ds-counter" and offer["permission"] == EU_ONLY["permission"]
    assert offer["@id"] != _offer(http, provider, "ds-counter")["@id"]
    pid = negotiation["providerPid"]
    assert _json(http.get(f"{provider.url}/negotiations/{pid}"), 200)["state"] == "OFFERED"
    assert _send(http, provider, negotiation, "events", eventType="ACCEPTED").status_code == 200
    agreement = consumer.wait("ContractAgreementMessage")["agreement"]
    assert agreement["permission"] == EU_ONLY["permission"]
    _verify(http, provider, consumer, negotiation)


def test_counter_request_to_a_counter_offer(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    negotiation = _requested(http, provider, consumer, "ds-counter")
    offer = consumer.wait("ContractOfferMessage")["offer"]
    answer = _send(http, provider, negotiation, "request", offer=offer)
    assert answer.status_code == 200, answer.text
    assert consumer.wait("ContractAgreementMessage")["agreement"]["permission"] == EU_ONLY["permission"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"@id": "urn:jaif:offer:never-made"}, "not an offer of this provider"),
        ({"permission": [{"action": "distribute"}]}, "terms differ"),
        ({"target": "ds-glob"}, "not ds-glob"),
    ],
)
def test_request_for_terms_never_offered_is_refused(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client, change: dict, reason: str
) -> None:
    response, consumer_pid = _request(http, provider, consumer, "ds-folder", **change)
    error = _json(response, 400)
    assert error["@type"] == "ContractNegotiationError" and error["consumerPid"] == consumer_pid
    assert reason in error["reason"][0]
    assert provider.negotiations.all() == []


def test_messages_out_of_turn_are_refused(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client, slow_answers: None
) -> None:
    negotiation = _requested(http, provider, consumer, "ds-folder")
    pid = negotiation["providerPid"]
    error = _json(_send(http, provider, negotiation, "agreement/verification"), 400)
    assert (error["providerPid"], error["consumerPid"]) == (pid, negotiation["consumerPid"])
    _json(_send(http, provider, negotiation, "events", eventType="ACCEPTED"), 400)
    stranger = {**negotiation, "consumerPid": new_pid()}
    assert (
        "not this process's consumer"
        in _json(_send(http, provider, stranger, "termination"), 400)["reason"][0]
    )
    assert _json(http.get(f"{provider.url}/negotiations/{pid}"), 200)["state"] == "REQUESTED"


def test_unknown_negotiation_is_404(provider: DspProvider, http: httpx.Client) -> None:
    unknown = {"@type": "ContractNegotiation", "providerPid": new_pid(), "consumerPid": new_pid()}
    assert _json(http.get(f"{provider.url}/negotiations/{unknown['providerPid']}"), 404)["providerPid"]
    error = _json(_send(http, provider, unknown, "termination"), 404)
    assert error["consumerPid"] == unknown["consumerPid"]


def test_nothing_moves_a_terminated_negotiation(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client, slow_answers: None
) -> None:
    negotiation = _requested(http, provider, consumer, "ds-counter")
    pid = negotiation["providerPid"]
    assert _send(http, provider, negotiation, "termination", reason=["changed my mind"]).status_code == 200
    assert _json(http.get(f"{provider.url}/negotiations/{pid}"), 200)["state"] == "TERMINATED"
    _json(_send(http, provider, negotiation, "termination"), 400)
    _json(_send(http, provider, negotiation, "agreement/verification"), 400)


def test_unreachable_consumer_terminates_the_negotiation(provider: DspProvider, http: httpx.Client) -> None:
    gone = SimpleNamespace(callback=f"http://127.0.0.1:{free_port()}/callback")  # nobody listens there
    negotiation = _requested(http, provider, gone, "ds-folder")  # type: ignore[arg-type]
    terminated = provider.negotiations.wait(negotiation["providerPid"], {NegotiationState.TERMINATED}, 3)
    assert terminated is not None and "consumer unreachable" in terminated.data["reason"]


# ---------------------------------------------------------------------------------------------- transfer


def test_transfer_needs_a_finalized_agreement(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    unknown = _json(
        http.post(f"{provider.url}/transfers/request", json=_transfer_body(consumer, new_pid())), 400
    )
    assert unknown["@type"] == "TransferError"
    _requested(http, provider, consumer, "ds-folder")
    agreed = consumer.wait("ContractAgreementMessage")["agreement"]["@id"]  # AGREED, not verified
    _json(http.post(f"{provider.url}/transfers/request", json=_transfer_body(consumer, agreed)), 400)
    assert provider.transfers.all() == []


def test_transfer_only_as_http_pull(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    agreement_id = _agreement(http, provider, consumer, "ds-folder")
    body = _transfer_body(consumer, agreement_id, fmt="AmazonS3-PUSH")
    error = _json(http.post(f"{provider.url}/transfers/request", json=body), 400)
    assert "HttpData-PULL" in error["reason"][0]


def test_transfer_serves_index_files_and_ranges(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client, files: Path
) -> None:
    transfer, endpoint, token = _started(http, provider, consumer)
    assert _json(http.get(f"{provider.url}/transfers/{transfer['providerPid']}"), 200)["state"] == "STARTED"
    index = http.get(endpoint, headers=_bearer(token))
    assert index.status_code == 200 and index.headers["content-type"] == FILE_INDEX_TYPE
    assert index.json() == {
        "files": [
            {"path": "a.jsonl", "bytes": 23, "format": "jsonl", "sha256": None},
            {
                "path": "sub/b.jsonl",
                "bytes": (files / "sub/b.jsonl").stat().st_size,
                "format": "jsonl",
                "sha256": None,
            },
            {"path": "sub/big.txt", "bytes": len(BIG), "format": "text", "sha256": None},
        ]
    }
    big = http.get(f"{endpoint}/sub/big.txt", headers=_bearer(token))
    assert big.status_code == 200 and big.content == BIG
    assert big.headers["accept-ranges"] == "bytes" and big.headers["content-length"] == str(len(BIG))
    raw = http.get(f"{endpoint}/a.jsonl", headers={"Authorization": token})  # the raw token works too
    assert raw.content == (files / "a.jsonl").read_bytes()
    part = http.get(f"{endpoint}/sub/big.txt", headers={**_bearer(token), "Range": "bytes=1048570-1048580"})
    assert part.status_code == 206 and part.content == BIG[1048570:1048581]
    assert part.headers["content-range"] == f"bytes 1048570-1048580/{len(BIG)}"
    tail = http.get(f"{endpoint}/sub/big.txt", headers={**_bearer(token), "Range": f"bytes={len(BIG) - 3}-"})
    assert tail.status_code == 206 and tail.content == BIG[-3:]
    beyond = http.get(f"{endpoint}/a.jsonl", headers={**_bearer(token), "Range": "bytes=999-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == "bytes */23"
    head = http.head(f"{endpoint}/sub/big.txt", headers=_bearer(token))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(BIG)) and head.content == b""


def test_data_plane_serves_nothing_outside_the_dataset(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    _, endpoint, token = _started(http, provider, consumer, "ds-glob")
    assert [f["path"] for f in http.get(endpoint, headers=_bearer(token)).json()["files"]] == ["b.jsonl"]
    for path in ("big.txt", "%2E%2E%2Fa.jsonl", "..%2F..%2Fsecret.txt", "nope.jsonl"):
        assert http.get(f"{endpoint}/{path}", headers=_bearer(token)).status_code == 404, path


def test_data_plane_wants_the_transfers_token(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    _, endpoint, token = _started(http, provider, consumer)
    for headers in ({}, _bearer(token[:-1] + "x"), {"Authorization": "Basic " + token}):
        refused = http.get(endpoint, headers=headers)
        assert refused.status_code == 401 and refused.content == b""
    other = endpoint.rsplit("/", 1)[0] + "/" + new_pid()
    assert http.get(other, headers=_bearer(token)).status_code == 401


@pytest.mark.parametrize(("action", "state"), [("completion", "COMPLETED"), ("termination", "TERMINATED")])
def test_token_dies_with_the_transfer(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client, action: str, state: str
) -> None:
    transfer, endpoint, token = _started(http, provider, consumer)
    assert _send(http, provider, transfer, action).status_code == 200
    assert http.get(endpoint, headers=_bearer(token)).status_code == 401
    assert _json(http.get(f"{provider.url}/transfers/{transfer['providerPid']}"), 200)["state"] == state


def test_suspended_transfer_refuses_its_token_until_restarted(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    transfer, endpoint, token = _started(http, provider, consumer)
    assert _send(http, provider, transfer, "suspension", reason=["pause"]).status_code == 200
    assert http.get(endpoint, headers=_bearer(token)).status_code == 401
    assert _send(http, provider, transfer, "start").status_code == 200
    assert http.get(endpoint, headers=_bearer(token)).status_code == 200
    error = _json(_send(http, provider, transfer, "start"), 400)  # only a suspended transfer restarts
    assert error["@type"] == "TransferError" and error["providerPid"] == transfer["providerPid"]


def test_terminated_transfer_cannot_complete(
    provider: DspProvider, consumer: FakeConsumer, http: httpx.Client
) -> None:
    transfer, _, _ = _started(http, provider, consumer)
    assert _send(http, provider, transfer, "termination").status_code == 200
    error = _json(_send(http, provider, transfer, "completion"), 400)
    assert (error["providerPid"], error["consumerPid"]) == (transfer["providerPid"], transfer["consumerPid"])
    assert _json(http.get(f"{provider.url}/transfers/{new_pid()}"), 404)["@type"] == "TransferError"


def test_token_expires(files: Path, consumer: FakeConsumer, http: httpx.Client) -> None:
    config = parse_provider_config(_config(files, token_ttl_s=0.3))
    with DspProvider(config) as short_lived:
        _, endpoint, token = _started(http, short_lived, consumer)
        assert http.get(endpoint, headers=_bearer(token)).status_code == 200
        time.sleep(0.35)
        assert http.get(endpoint, headers=_bearer(token)).status_code == 401


def test_tokens_stay_out_of_logs_and_transcript(
    tmp_path: Path, files: Path, consumer: FakeConsumer, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    transcript = tmp_path / "transcript.jsonl"
    caplog.set_level(logging.DEBUG, logger="jaif")
    with DspProvider(parse_provider_config(_config(files)), transcript=transcript) as recorded:
        _, endpoint, token = _started(http, recorded, consumer)
        http.get(f"{endpoint}/a.jsonl", headers=_bearer(token))
    assert "TransferStartMessage" in transcript.read_text() and token not in transcript.read_text()
    assert "data.read" in caplog.text and token not in caplog.text


def test_byte_range_rules() -> None:
    assert byte_range(None, 10) is None
    assert byte_range("bytes=2-4", 10) == (2, 4)
    assert byte_range("bytes=2-", 10) == (2, 9)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes=5-100", 10) == (5, 9)
    assert byte_range("bytes=0-1,4-5", 10) is None  # several ranges: the whole file
    assert byte_range("items=0-1", 10) is None
    with pytest.raises(provider_module.RangeNotSatisfiable):
        byte_range("bytes=10-", 10)


# ---------------------------------------------------------------------------------------------- run output


def _run_output(root: Path) -> tuple[Path, bytes]:
    shard = root / "data" / "de" / "part-00000.parquet"
    shard.parent.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["d0"], "text": ["Hallo Welt"]}), shard)
    data = shard.read_bytes()
    manifest = {
        "name": "curated-de",
        "counts": {"data_rows": 1},
        "files": [
            {
                "path": "data/de/part-00000.parquet",
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "rows": 1,
            }
        ],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "README.md").write_text("# curated-de\n")
    return root, data


def test_run_output_folder_as_a_dataset(tmp_path: Path, consumer: FakeConsumer, http: httpx.Client) -> None:
    out, shard = _run_output(tmp_path / "run")
    config = parse_provider_config(
        {
            "participant_id": "urn:example:jaif",
            "datasets": [{"id": "curated", "url": str(out), "policy": USE}],
        }
    )
    with DspProvider(config) as running:
        dataset = _json(http.get(f"{running.url}/catalog/datasets/curated"), 200)
        assert dataset["dct:title"] == "curated-de" and "1 documents" in dataset["dct:description"]
        _, endpoint, token = _started(http, running, consumer, "curated")
        index = http.get(endpoint, headers=_bearer(token)).json()
        assert index == {
            "files": [
                {
                    "path": "data/de/part-00000.parquet",
                    "bytes": len(shard),
                    "format": "parquet",
                    "sha256": hashlib.sha256(shard).hexdigest(),
                }
            ]
        }
        assert http.get(f"{endpoint}/data/de/part-00000.parquet", headers=_bearer(token)).content == shard
        assert http.get(f"{endpoint}/manifest.json", headers=_bearer(token)).json()["name"] == "curated-de"
        assert http.get(f"{endpoint}/README.md", headers=_bearer(token)).text == "# curated-de\n"


# ---------------------------------------------------------------------------------------------- command line


def test_command_line_serves_until_sigint(tmp_path: Path, files: Path) -> None:
    config = tmp_path / "provider.json"
    config.write_text(json.dumps(_config(files)))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "connectors.dsp.provider",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
    ]
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{base}/.well-known/dspace-version", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.05)
        catalog = httpx.post(f"{base}/catalog/request", json=message("CatalogRequestMessage"), timeout=5)
        assert len(_json(catalog, 200)["dataset"]) == 3
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"serving url={base}" in stderr
