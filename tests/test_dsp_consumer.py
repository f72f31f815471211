"""The DSP consumer against a scripted provider on loopback: the TCK's consumer scenarios.

Negotiation happy paths (the provider agrees at once; it counter-offers first), termination by
either side, and the negative cases where the provider sends a message that the negotiation's or
transfer's state does not allow: the consumer answers 400 and transfers nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dsp_peers import DATASET, OFFER_ID, PARTICIPANT, TOKEN, ScriptedProvider
from dsp_schemas import SCHEMAS_DIR, assert_valid

from connectors.dsp.consumer import DspAccess, DspConnector, DspSession
from connectors.dsp.protocol import NegotiationState, Process, TransferState, message, new_pid
from schemas.config import DspSource
from schemas.document import AGREEMENT_ID, DATASET_ID, POLICY, PUBLISHER

US = "urn:example:jaif-consumer"


def dsp_source(endpoint: str, **fields: Any) -> DspSource:
    settings = {"negotiation_timeout_s": 5.0, "participant_id": US, "dataset": DATASET, **fields}
    return DspSource(kind="dsp", endpoint=endpoint, **settings)


class ConsumerRun:
    """Plans and opens a dsp source in a thread, as the driver does, while the test plays the provider."""

    def __init__(self, source: DspSource) -> None:
        self.source = source
        self.access: DspAccess | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            connector = DspConnector()
            self.access = connector.open(connector.plan(self.source, 0))
        except BaseException as exc:  # handed to the test
            self.error = exc

    def result(self, timeout_s: float = 15.0) -> DspAccess:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), "the consumer did not finish"
        if self.error is not None:
            raise self.error
        assert self.access is not None
        return self.access


@pytest.fixture
def provider() -> Iterator[ScriptedProvider]:
    """The scripted provider; afterwards, every message the consumer sent it or answered it with must
    validate against the official DSP 2025-1 schemas."""
    with ScriptedProvider() as peer:
        yield peer
    if SCHEMAS_DIR.is_dir():
        for sent in peer.log:
            assert_valid(sent)


def agreement(**overrides: Any) -> dict[str, Any]:
    return {
        "@id": "urn:uuid:agreement-1",
        "@type": "Agreement",
        "target": DATASET,
        "assigner": PARTICIPANT,
        "assignee": US,
        "timestamp": "2026-12-05T10:00:00Z",
        "permission": [{"action": "use"}],
        **overrides,
    }


def contract_request(provider: ScriptedProvider) -> tuple[str, str]:
    path, request = provider.next()
    assert path == "/dsp/negotiations/request"
    assert request["@type"] == "ContractRequestMessage"
    assert request["offer"]["@id"] == OFFER_ID and request["offer"]["target"] == DATASET
    return request["consumerPid"], request["callbackAddress"]


def finish_negotiation(provider: ScriptedProvider, pid: str, callback: str) -> None:
    """From AGREED: the consumer verifies, the provider finalizes."""
    path, verification = provider.next()
    assert path == f"/dsp/negotiations/{provider.provider_pid}/agreement/verification"
    assert verification["@type"] == "ContractAgreementVerificationMessage"
    finalized = provider.send(
        callback, f"negotiations/{pid}/events", "ContractNegotiationEventMessage", pid, eventType="FINALIZED"
    )
    assert finalized == 200


def agree(provider: ScriptedProvider, pid: str, callback: str) -> None:
    """From REQUESTED: the provider agrees, the consumer verifies, the provider finalizes."""
    status = provider.send(
        callback, f"negotiations/{pid}/agreement", "ContractAgreementMessage", pid, agreement=agreement()
    )
    assert status == 200
    finish_negotiation(provider, pid, callback)


def start_transfer(provider: ScriptedProvider, callback: str, **address: Any) -> str:
    path, request = provider.next()
    assert path == "/dsp/transfers/request"
    assert request["agreementId"] == "urn:uuid:agreement-1"
    assert request["format"] == "HttpData-PULL"
    pid = request["consumerPid"]
    status = provider.send(
        callback,
        f"transfers/{pid}/start",
        "TransferStartMessage",
        pid,
        dataAddress=provider.data_address(**address),
    )
    assert status == 200
    return pid


def test_provider_agrees_directly_then_transfer_and_completion(provider: ScriptedProvider) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    assert (
        provider.send(
            callback, f"negotiations/{pid}/agreement", "ContractAgreementMessage", pid, agreement=agreement()
        )
        == 200
    )
    finish_negotiation(provider, pid, callback)
    transfer_pid = start_transfer(provider, callback)
    access = run.result()

    [report] = access.datasets
    assert (report.decision, report.agreement_id, report.policy_id) == (
        "allow",
        "urn:uuid:agreement-1",
        OFFER_ID,
    )
    [unit] = access.units
    assert unit.location == f"{provider.url}/data/part-0.jsonl"
    assert unit.uri.endswith("/part-0.jsonl") and TOKEN not in unit.uri
    assert unit.provenance[AGREEMENT_ID] == "urn:uuid:agreement-1"
    assert unit.provenance[DATASET_ID] == DATASET and unit.provenance[PUBLISHER] == PARTICIPANT
    assert unit.provenance[POLICY] == f"allow:{OFFER_ID}"
    assert unit.credential_env is not None and os.environ[unit.credential_env] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(unit)

    access.close(True)
    path, completion = provider.next()
    assert path == f"/dsp/transfers/{provider.transfer_pid}/completion"
    assert completion["consumerPid"] == transfer_pid
    assert unit.credential_env not in os.environ


def test_identical_counter_offer_is_accepted(provider: ScriptedProvider) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    counter = {
        "@id": "urn:uuid:counter",
        "@type": "Offer",
        "target": DATASET,
        "permission": [{"action": "use"}],
    }
    assert (
        provider.send(callback, f"negotiations/{pid}/offers", "ContractOfferMessage", pid, offer=counter)
        == 200
    )
    path, accepted = provider.next()
    assert path == f"/dsp/negotiations/{provider.provider_pid}/events"
    assert accepted["eventType"] == "ACCEPTED"
    assert (
        provider.send(
            callback, f"negotiations/{pid}/agreement", "ContractAgreementMessage", pid, agreement=agreement()
        )
        == 200
    )
    finish_negotiation(provider, pid, callback)
    start_transfer(provider, callback)
    access = run.result()
    assert access.datasets[0].decision == "allow" and len(access.units) == 1
    access.close(True)


def test_different_counter_offer_is_terminated(provider: ScriptedProvider) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    counter = {
        "@id": "urn:uuid:counter",
        "@type": "Offer",
        "target": DATASET,
        "permission": [{"action": "use", "duty": [{"action": "compensate"}]}],
    }
    assert (
        provider.send(callback, f"negotiations/{pid}/offers", "ContractOfferMessage", pid, offer=counter)
        == 200
    )
    path, termination = provider.next()
    assert path == f"/dsp/negotiations/{provider.provider_pid}/termination"
    assert termination["@type"] == "ContractNegotiationTerminationMessage"
    access = run.result()
    assert access.units == []
    assert access.datasets[0].decision == "failed" and "counter-offered" in access.datasets[0].reason
    assert provider.received.empty()  # no transfer was requested
    access.close(True)


@pytest.mark.parametrize(
    "change",
    [{"target": "urn:uuid:other"}, {"assignee": "urn:someone-else"}, {"permission": [{"action": "read"}]}],
    ids=["target", "assignee", "policy"],
)
def test_agreement_that_differs_from_the_offer_is_terminated(
    provider: ScriptedProvider, change: dict
) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    assert (
        provider.send(
            callback,
            f"negotiations/{pid}/agreement",
            "ContractAgreementMessage",
            pid,
            agreement=agreement(**change),
        )
        == 200
    )
    path, _ = provider.next()
    assert path.endswith("/termination")
    access = run.result()
    assert access.units == [] and "agreement refused" in access.datasets[0].reason
    access.close(True)


@pytest.mark.parametrize("stage", ["requested", "offered", "agreed", "verified"])
def test_provider_terminates_at_each_stage(provider: ScriptedProvider, stage: str) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    if stage == "offered":
        counter = {
            "@id": "urn:uuid:c",
            "@type": "Offer",
            "target": DATASET,
            "permission": [{"action": "use"}],
        }
        provider.send(callback, f"negotiations/{pid}/offers", "ContractOfferMessage", pid, offer=counter)
        assert provider.next()[1]["eventType"] == "ACCEPTED"
    if stage in ("agreed", "verified"):
        provider.send(
            callback, f"negotiations/{pid}/agreement", "ContractAgreementMessage", pid, agreement=agreement()
        )
        if stage == "verified":
            assert provider.next()[0].endswith("/agreement/verification")
    status = provider.send(
        callback,
        f"negotiations/{pid}/termination",
        "ContractNegotiationTerminationMessage",
        pid,
        code="1",
        reason=["no longer offered"],
    )
    assert status == 200
    access = run.result()
    assert access.units == [] and "terminated" in access.datasets[0].reason
    access.close(True)


@pytest.mark.parametrize(
    ("path", "type_", "fields"),
    [
        (
            "events",
            "ContractNegotiationEventMessage",
            {"eventType": "FINALIZED"},
        ),  # FINALIZED while REQUESTED
        (
            "events",
            "ContractNegotiationEventMessage",
            {"eventType": "ACCEPTED"},
        ),  # not the provider's to send
    ],
    ids=["finalized-while-requested", "accepted-from-provider"],
)
def test_invalid_message_while_requested_gets_400_and_no_transfer(
    provider: ScriptedProvider, path: str, type_: str, fields: dict
) -> None:
    run = ConsumerRun(dsp_source(provider.url, negotiation_timeout_s=1.0))
    pid, callback = contract_request(provider)
    assert provider.send(callback, f"negotiations/{pid}/{path}", type_, pid, **fields) == 400
    termination_path, _ = provider.next()  # the consumer gives up after its timeout and terminates
    assert termination_path.endswith("/termination")
    access = run.result()
    assert access.units == [] and "timed out" in access.datasets[0].reason
    access.close(True)


def test_provider_terminates_the_transfer_before_it_starts(provider: ScriptedProvider) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    agree(provider, pid, callback)
    _, request = provider.next()
    transfer = request["consumerPid"]
    assert (
        provider.send(
            callback,
            f"transfers/{transfer}/termination",
            "TransferTerminationMessage",
            transfer,
            reason=["maintenance"],
        )
        == 200
    )
    access = run.result()
    assert access.units == [] and "terminated the transfer" in access.datasets[0].reason
    access.close(True)


@pytest.mark.parametrize(
    "endpoint",
    ["file:///etc/passwd", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/x"],
    ids=["file", "metadata", "link-local"],
)
def test_unsafe_data_address_is_refused_and_the_transfer_terminated(
    provider: ScriptedProvider, endpoint: str
) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    agree(provider, pid, callback)
    start_transfer(provider, callback, endpoint=endpoint)
    path, _ = provider.next()
    assert path == f"/dsp/transfers/{provider.transfer_pid}/termination"
    access = run.result()
    assert access.units == [] and access.datasets[0].decision == "failed"
    access.close(True)


def test_a_data_address_that_redirects_is_refused(provider: ScriptedProvider) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    agree(provider, pid, callback)
    start_transfer(provider, callback, endpoint=f"{provider.url}/redirect")
    path, termination = provider.next()
    assert path == f"/dsp/transfers/{provider.transfer_pid}/termination"
    assert "redirect" in termination["reason"][0]
    access = run.result()
    assert access.units == [] and "redirect" in access.datasets[0].reason
    assert not [name for name in os.environ if name.startswith("JAIF_DSP_TOKEN_")]
    access.close(True)
    assert provider.received.empty()  # nothing more: no completion for a terminated transfer


def test_prefixed_2024_terms_are_accepted(provider: ScriptedProvider) -> None:
    run = ConsumerRun(dsp_source(provider.url))
    pid, callback = contract_request(provider)
    prefixed = {
        "@context": "https://w3id.org/dspace/2024/1/context.json",
        "@type": "dspace:ContractAgreementMessage",
        "dspace:providerPid": provider.provider_pid,
        "dspace:consumerPid": pid,
        "dspace:agreement": {**agreement(), "@type": "odrl:Agreement"},
    }
    assert (
        httpx.post(f"{callback}/negotiations/{pid}/agreement", json=prefixed, timeout=10).status_code == 200
    )
    finish_negotiation(provider, pid, callback)
    start_transfer(provider, callback)
    access = run.result()
    assert access.datasets[0].decision == "allow" and len(access.units) == 1
    access.close(True)


def test_denied_policy_is_not_negotiated() -> None:
    with ScriptedProvider(
        rules={"permission": [{"action": "use"}], "prohibition": [{"action": "use"}]}
    ) as peer:
        connector = DspConnector()
        access = connector.open(connector.plan(dsp_source(peer.url), 0))
        assert access.units == []
        [report] = access.datasets
        assert report.decision == "deny" and report.dataset_id == DATASET
        assert peer.received.empty()  # no contract request was sent
        access.close(True)


def test_unknown_constraint_is_not_negotiated() -> None:
    rules = {
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"}],
            }
        ]
    }
    with ScriptedProvider(rules=rules) as peer:
        connector = DspConnector()
        access = connector.open(connector.plan(dsp_source(peer.url), 0))
        assert access.units == [] and access.datasets[0].decision == "unknown"
        assert "partner" in access.datasets[0].reason
        access.close(True)


def test_unreachable_provider_is_a_failed_report() -> None:
    connector = DspConnector()
    source = dsp_source("http://127.0.0.1:9", retries={"attempts": 1})
    access = connector.open(connector.plan(source, 0))
    assert access.units == [] and access.datasets[0].decision == "failed"
    assert "catalog" in access.datasets[0].reason


# ------------------------------------------------------------------------------ callback state table


NEGOTIATION_CASES = [
    # (state, path, type, fields, expected status)
    ("REQUESTED", "offers", "ContractOfferMessage", {"offer": {"@type": "Offer", "@id": "o"}}, 200),
    ("ACCEPTED", "offers", "ContractOfferMessage", {"offer": {"@type": "Offer", "@id": "o"}}, 400),
    ("REQUESTED", "agreement", "ContractAgreementMessage", {"agreement": agreement()}, 200),
    ("ACCEPTED", "agreement", "ContractAgreementMessage", {"agreement": agreement()}, 200),
    ("OFFERED", "agreement", "ContractAgreementMessage", {"agreement": agreement()}, 400),
    ("VERIFIED", "agreement", "ContractAgreementMessage", {"agreement": agreement()}, 400),
    ("REQUESTED", "events", "ContractNegotiationEventMessage", {"eventType": "FINALIZED"}, 400),
    ("OFFERED", "events", "ContractNegotiationEventMessage", {"eventType": "FINALIZED"}, 400),
    ("ACCEPTED", "events", "ContractNegotiationEventMessage", {"eventType": "FINALIZED"}, 400),
    ("AGREED", "events", "ContractNegotiationEventMessage", {"eventType": "FINALIZED"}, 400),
    ("VERIFIED", "events", "ContractNegotiationEventMessage", {"eventType": "FINALIZED"}, 200),
    ("OFFERED", "events", "ContractNegotiationEventMessage", {"eventType": "ACCEPTED"}, 400),
    ("REQUESTED", "termination", "ContractNegotiationTerminationMessage", {}, 200),
    ("AGREED", "termination", "ContractNegotiationTerminationMessage", {}, 200),
    ("FINALIZED", "termination", "ContractNegotiationTerminationMessage", {}, 400),
    ("TERMINATED", "termination", "ContractNegotiationTerminationMessage", {}, 400),
    ("TERMINATED", "agreement", "ContractAgreementMessage", {"agreement": agreement()}, 400),
    ("REQUESTED", "termination", "ContractAgreementMessage", {"agreement": agreement()}, 400),  # wrong path
]

TRANSFER_CASES = [
    (
        "REQUESTED",
        "start",
        "TransferStartMessage",
        {"dataAddress": {"@type": "DataAddress", "endpointType": "x", "endpoint": "http://127.0.0.1/"}},
        200,
    ),
    ("REQUESTED", "start", "TransferStartMessage", {}, 400),  # HTTP pull needs a data address
    ("SUSPENDED", "start", "TransferStartMessage", {}, 200),
    ("STARTED", "start", "TransferStartMessage", {}, 400),
    ("REQUESTED", "completion", "TransferCompletionMessage", {}, 400),
    ("REQUESTED", "suspension", "TransferSuspensionMessage", {}, 400),
    ("STARTED", "suspension", "TransferSuspensionMessage", {}, 200),
    ("STARTED", "completion", "TransferCompletionMessage", {}, 200),
    ("REQUESTED", "termination", "TransferTerminationMessage", {}, 200),
    ("TERMINATED", "start", "TransferStartMessage", {}, 400),
    ("TERMINATED", "completion", "TransferCompletionMessage", {}, 400),
    ("TERMINATED", "termination", "TransferTerminationMessage", {}, 400),
    ("COMPLETED", "suspension", "TransferSuspensionMessage", {}, 400),
]


@pytest.fixture(scope="module")
def session() -> Iterator[DspSession]:
    consumer = DspSession(dsp_source("http://127.0.0.1:9"), 0)
    yield consumer
    consumer.close(True)


def _post(
    session: DspSession, path: str, type_: str, consumer_pid: str, provider_pid: str, **fields: Any
) -> int:
    msg = message(type_, providerPid=provider_pid, consumerPid=consumer_pid, **fields)
    return httpx.post(f"{session.callback}/{path}", json=msg, timeout=10).status_code


@pytest.mark.parametrize(("state", "tail", "type_", "fields", "status"), NEGOTIATION_CASES)
def test_negotiation_callback_answers_by_state(
    session: DspSession, state: str, tail: str, type_: str, fields: dict, status: int
) -> None:
    pid, peer = new_pid(), new_pid()
    session.negotiations.create(Process(pid, NegotiationState(state), peer_pid=peer))
    assert _post(session, f"negotiations/{pid}/{tail}", type_, pid, peer, **fields) == status
    expected = state if status != 200 else None
    if expected is not None:
        assert session.negotiations.get(pid).state == NegotiationState(
            state
        )  # a refused message changes nothing


@pytest.mark.parametrize(("state", "tail", "type_", "fields", "status"), TRANSFER_CASES)
def test_transfer_callback_answers_by_state(
    session: DspSession, state: str, tail: str, type_: str, fields: dict, status: int
) -> None:
    pid, peer = new_pid(), new_pid()
    session.transfers.create(Process(pid, TransferState(state), peer_pid=peer))
    assert _post(session, f"transfers/{pid}/{tail}", type_, pid, peer, **fields) == status


def test_unknown_process_is_404_and_a_wrong_provider_id_400(session: DspSession) -> None:
    unknown = new_pid()
    assert (
        _post(
            session,
            f"negotiations/{unknown}/termination",
            "ContractNegotiationTerminationMessage",
            unknown,
            new_pid(),
        )
        == 404
    )
    assert (
        _post(session, f"transfers/{unknown}/completion", "TransferCompletionMessage", unknown, new_pid())
        == 404
    )
    pid, peer = new_pid(), new_pid()
    session.negotiations.create(Process(pid, NegotiationState.REQUESTED, peer_pid=peer))
    assert (
        _post(
            session,
            f"negotiations/{pid}/termination",
            "ContractNegotiationTerminationMessage",
            pid,
            new_pid(),
        )
        == 400
    )
    assert session.negotiations.get(pid).state is NegotiationState.REQUESTED


def test_unsolicited_offer_and_garbage_are_refused(session: DspSession) -> None:
    offer = message(
        "ContractOfferMessage",
        providerPid=new_pid(),
        offer={"@type": "Offer", "@id": "x"},
        callbackAddress="http://127.0.0.1:9",
    )
    assert httpx.post(f"{session.callback}/negotiations/offers", json=offer, timeout=10).status_code == 400
    pid = new_pid()
    session.negotiations.create(Process(pid, NegotiationState.REQUESTED, peer_pid=new_pid()))
    garbage = httpx.post(f"{session.callback}/negotiations/{pid}/agreement", content=b"not json", timeout=10)
    assert garbage.status_code == 400
    assert garbage.json()["@type"] == "ContractNegotiationError"


def test_a_dataset_the_provider_does_not_have_is_a_failed_report(provider: ScriptedProvider) -> None:
    connector = DspConnector()
    access = connector.open(connector.plan(dsp_source(provider.url, dataset=None, datasets=["urn:nope"]), 0))
    assert access.units == []
    [report] = access.datasets
    assert report.dataset_id == "urn:nope" and report.decision == "failed" and "404" in report.reason
    access.close(True)
