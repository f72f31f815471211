"""OpenLineage run events: START / COMPLETE / FAIL written to OUT/lineage/ as valid events whose inputs and
outputs describe the run, and sent to a real HTTP server on loopback with the API key as a bearer token."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from pipelines.reports.lineage import (
    PRODUCER,
    dataset_address,
    emit_lineage,
    lineage_event,
    run_id_for,
)
from pipelines.runner import run_pipeline
from schemas.config import PipelineConfig, parse_config
from schemas.records import DATA_SCHEMA, LEDGER_SCHEMA
from tests.conftest import sample_config_data
from tests.loopback import free_port

API_KEY = "test-lineage-key-5b1c"
KEY_ENV = "JAIF_TEST_LINEAGE_KEY"


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory) -> Path:
    """The embedded sample, curated once for this module."""
    out = tmp_path_factory.mktemp("lineage-sample")
    run_pipeline(sample_config(), out)
    return out


def sample_config(**lineage: Any) -> PipelineConfig:
    data = sample_config_data(kind="local", workers=1)
    if lineage:
        data["lineage"] = lineage
    return parse_config(data)


def finished_copy(sample_out: Path, tmp_path: Path) -> Path:
    """An output folder of its own (for its lineage/ files) holding the sample run's manifest."""
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(sample_out / "manifest.json", out / "manifest.json")
    return out


def read_event(path: Path) -> dict[str, Any]:
    """The event file as JSON, checked against the OpenLineage RunEvent's required fields by the client's
    own classes (they validate eventTime, runId and the event type)."""
    event = json.loads(path.read_text(encoding="utf-8"))
    parsed = RunEvent(
        eventTime=event["eventTime"],
        eventType=RunState(event["eventType"]),
        run=Run(runId=event["run"]["runId"]),
        job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
        producer=event["producer"],
    )
    assert event["schemaURL"] == parsed.schemaURL
    assert event["producer"] == PRODUCER
    return event


def statistics(event: dict[str, Any], kind: str) -> dict[str, Any]:
    (output,) = [o for o in event["outputs"] if o["name"].endswith(f"/{kind}")]
    return output["outputFacets"]["outputStatistics"]


def test_run_id_is_the_same_for_the_same_run_in_any_process(tmp_path, monkeypatch):
    run_id = run_id_for(tmp_path, 1_760_000_000.25)
    monkeypatch.chdir(tmp_path.parent)
    assert run_id == run_id_for(Path(tmp_path.name), 1_760_000_000.25)  # as another process names it
    assert uuid.UUID(run_id).version == 7
    assert run_id != run_id_for(tmp_path, 1_760_000_001.25)
    assert run_id != run_id_for(tmp_path / "other", 1_760_000_000.25)


def test_start_event_names_the_configured_sources(tmp_path):
    config = sample_config()
    run_id = run_id_for(tmp_path, 1_760_000_000.0)
    path = emit_lineage("START", tmp_path, config, run_id)
    assert path == tmp_path / "lineage" / "001-START.json"
    event = read_event(path)
    assert event["eventType"] == "START" and event["run"]["runId"] == run_id
    assert event["job"] == {**event["job"], "namespace": "jaif", "name": "sample"}
    expected = [("file", str(Path(s["url"]))) for s in sample_config_data()["sources"]]
    assert [(i["namespace"], i["name"]) for i in event["inputs"]] == expected
    outputs = {o["name"]: o for o in event["outputs"]}
    assert set(outputs) == {str(tmp_path.resolve() / k) for k in ("data", "ledger", "webdataset")}
    data_fields = outputs[str(tmp_path.resolve() / "data")]["facets"]["schema"]["fields"]
    assert [f["name"] for f in data_fields] == DATA_SCHEMA.names
    assert {f["name"] for f in next(f for f in data_fields if f["name"] == "pii_counts")["fields"]} == {
        "email",
        "ip",
        "phone",
        "iban",
        "national_id",
    }
    assert all("outputStatistics" not in o.get("outputFacets", {}) for o in event["outputs"])
    assert "errorMessage" not in event["run"]["facets"]


def test_complete_event_counts_what_the_run_wrote(sample_out, tmp_path):
    out = finished_copy(sample_out, tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    run_id = run_id_for(out, 1_760_000_000.0)
    emit_lineage("START", out, sample_config(), run_id)
    path = emit_lineage("COMPLETE", out, sample_config(), run_id)
    assert path.name == "002-COMPLETE.json"
    event = read_event(path)
    assert event["eventType"] == "COMPLETE" and event["run"]["runId"] == run_id
    # local files by their path relative to the source's root: no machine's mount point
    assert [(i["namespace"], i["name"]) for i in event["inputs"]] == [
        ("file", name) for name in ("news.jsonl.gz", "forum.parquet", "crawl.warc.gz")
    ]
    assert manifest["run"]["inputs"] == ["news.jsonl.gz", "forum.parquet", "crawl.warc.gz"]
    files = manifest["files"]
    data, ledger = statistics(event, "data"), statistics(event, "ledger")
    assert data["rowCount"] == manifest["counts"]["kept"] == manifest["counts"]["data_rows"]
    assert data["size"] == sum(f["bytes"] for f in files if f["path"].startswith("data/"))
    assert data["fileCount"] == sum(f["path"].startswith("data/") for f in files)
    assert ledger["rowCount"] == manifest["counts"]["inputs"]
    ledger_output = next(o for o in event["outputs"] if o["name"].endswith("/ledger"))
    assert [f["name"] for f in ledger_output["facets"]["schema"]["fields"]] == LEDGER_SCHEMA.names


def test_fail_event_carries_the_error(tmp_path):
    run_id = run_id_for(tmp_path, 1_760_000_000.0)
    path = emit_lineage("FAIL", tmp_path, sample_config(), run_id, error="ledger check failed: 3 missing")
    event = read_event(path)
    assert path.name == "001-FAIL.json" and event["eventType"] == "FAIL"
    error = event["run"]["facets"]["errorMessage"]
    assert error["message"] == "ledger check failed: 3 missing" and error["programmingLanguage"] == "python"
    assert error["_producer"] == PRODUCER and error["_schemaURL"].startswith("https://openlineage.io/spec/")


def test_unknown_event_type_is_refused(tmp_path):
    with pytest.raises(ValueError):
        lineage_event("FINISHED", tmp_path, sample_config(), run_id_for(tmp_path, 0.0))


def test_data_space_datasets_are_inputs_by_endpoint_and_id(tmp_path):
    config_data = sample_config_data()
    config_data["sources"].append(
        {
            "kind": "dsp",
            "endpoint": "https://provider.example.eu/dsp/",
            "datasets": ["urn:uuid:a", "urn:uuid:b"],
        }
    )
    config = parse_config(config_data)
    catalog = "https://provider.example.eu/dsp/catalog/datasets/urn:uuid:a"
    manifest = {
        "run": {
            "inputs": ["s3://corpus/web/part-0.jsonl.gz", f"{catalog}/a.jsonl", f"{catalog}/b.jsonl"],
            "datasets": [
                {
                    "source_index": 3,
                    "dataset_id": "urn:uuid:a",
                    "decision": "allow",
                    "files": 2,
                    "documents_in": 7,
                },
                {"source_index": 3, "dataset_id": "urn:uuid:b", "decision": "deny", "reason": "purpose"},
            ],
        },
        "files": [],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    event = json.loads(
        (emit_lineage("COMPLETE", tmp_path, config, run_id_for(tmp_path, 0.0))).read_text(encoding="utf-8")
    )
    inputs = {(i["namespace"], i["name"]): i for i in event["inputs"]}
    assert set(inputs) == {
        ("s3://corpus", "web/part-0.jsonl.gz"),
        ("https://provider.example.eu/dsp", "urn:uuid:a"),
    }
    space = inputs[("https://provider.example.eu/dsp", "urn:uuid:a")]
    assert space["inputFacets"]["inputStatistics"]["rowCount"] == 7
    assert space["inputFacets"]["inputStatistics"]["fileCount"] == 2
    start = lineage_event("START", tmp_path, config, run_id_for(tmp_path, 0.0))
    assert [(i.namespace, i.name) for i in start.inputs][-2:] == [
        ("https://provider.example.eu/dsp", "urn:uuid:a"),
        ("https://provider.example.eu/dsp", "urn:uuid:b"),
    ]


def test_dataset_addresses_follow_the_openlineage_naming():
    assert dataset_address("file:///data/a.jsonl.gz") == ("file", "/data/a.jsonl.gz")
    assert dataset_address("s3://bucket/crawl/a.warc.gz") == ("s3://bucket", "crawl/a.warc.gz")
    assert dataset_address("https://host:8443/files/a.jsonl") == ("https://host:8443", "files/a.jsonl")
    assert dataset_address("https://user:secret@host/a.jsonl?x=1") == ("https://host", "a.jsonl?x=1")
    assert dataset_address("samples/a.jsonl") == ("file", str(Path("samples/a.jsonl").absolute()))


class LineageReceiver:
    """A lineage server on loopback that records every POST: path, headers, JSON body."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.received.append((self.path, dict(self.headers), body))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[LineageReceiver]:
    server = LineageReceiver()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_events_are_sent_with_the_api_key_as_bearer_token(
    receiver, sample_out, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv(KEY_ENV, API_KEY)
    caplog.set_level(logging.DEBUG)
    out = finished_copy(sample_out, tmp_path)
    config = sample_config(namespace="jaif-test", url=receiver.url, api_key_env=KEY_ENV)
    run_id = run_id_for(out, 1_760_000_000.0)
    emit_lineage("START", out, config, run_id)
    written = read_event(emit_lineage("COMPLETE", out, config, run_id))
    assert [path for path, _, _ in receiver.received] == ["/api/v1/lineage", "/api/v1/lineage"]
    for _, headers, _ in receiver.received:
        assert headers["Authorization"] == f"Bearer {API_KEY}"
        assert headers["Content-Type"] == "application/json"
    start, complete = (body for _, _, body in receiver.received)
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"] == run_id
    assert complete["job"]["namespace"] == "jaif-test"
    assert statistics(complete, "data") == statistics(written, "data")
    assert API_KEY not in caplog.text


def test_a_dead_endpoint_only_logs_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(KEY_ENV, API_KEY)
    config = sample_config(url=f"http://127.0.0.1:{free_port()}", api_key_env=KEY_ENV)
    with caplog.at_level(logging.WARNING, logger="jaif.lineage"):
        path = emit_lineage("START", tmp_path, config, run_id_for(tmp_path, 0.0))
    assert read_event(path)["eventType"] == "START"
    warnings = [r for r in caplog.records if r.name == "jaif.lineage" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "failed" in warnings[0].getMessage()
    assert API_KEY not in caplog.text


def test_an_unset_api_key_variable_sends_nothing(receiver, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv(KEY_ENV, raising=False)
    config = sample_config(url=receiver.url, api_key_env=KEY_ENV)
    with caplog.at_level(logging.WARNING, logger="jaif.lineage"):
        path = emit_lineage("START", tmp_path, config, run_id_for(tmp_path, 0.0))
    assert path.is_file() and receiver.received == []
    assert KEY_ENV in caplog.text
