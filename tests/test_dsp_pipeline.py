"""A pipeline run with ``kind: dsp`` sources against our own provider on loopback, end to end.

The provider offers the embedded sample as three datasets: one plainly allowed, one allowed after
a counter-offer, one whose policy prohibits mining. The run must read the first two under their
contract agreements, leave the third out with a report line, and carry the agreement into every
output row, the ledger and the manifest, with no token anywhere in the output folder.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from dsp_schemas import SCHEMAS_DIR, assert_valid

from connectors.dsp.provider import DspProvider
from pipelines.run import main
from pipelines.runner import RunError, run_pipeline
from schemas.config import parse_config
from schemas.provider import parse_provider_config

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "samples" / "corpus"
PROVIDER_ID = "urn:example:test-provider"
US = "urn:example:jaif-consumer"
MINE = {"permission": [{"action": "use"}]}
NEWS, FORUM, CRAWL = "urn:jaif:test:news", "urn:jaif:test:forum", "urn:jaif:test:crawl"


def provider_config(datasets: list[dict]) -> dict:
    return {"participant_id": PROVIDER_ID, "datasets": datasets}


SAMPLE_DATASETS = [
    {"id": NEWS, "url": str(CORPUS / "news.jsonl.gz"), "license": "CC-BY-4.0", "policy": MINE},
    {
        "id": FORUM,
        "url": str(CORPUS / "forum.parquet"),
        "policy": {"permission": [{"action": "tdm:mine"}]},
        "counter_offer": True,
    },
    {
        "id": CRAWL,
        "url": str(CORPUS / "crawl.warc.gz"),
        "policy": {"permission": [{"action": "read"}], "prohibition": [{"action": "tdm:mine"}]},
    },
]


@pytest.fixture
def provider() -> Iterator[DspProvider]:
    with DspProvider(parse_provider_config(provider_config(SAMPLE_DATASETS))) as peer:
        yield peer


def pipeline_config(endpoint: str, **source: object) -> dict:
    return {
        "name": "dsp-test",
        "sources": [
            {
                "kind": "dsp",
                "endpoint": endpoint,
                "datasets": "all",
                "participant_id": US,
                "negotiation_timeout_s": 20,
                **source,
            }
        ],
        "stages": [
            {"kind": "extract"},
            {"kind": "normalize"},
            {"kind": "language", "languages": ["de", "hu", "nl", "en"]},
            {"kind": "exact_dedup"},
        ],
        "engine": {"kind": "local", "workers": 2},
    }


def test_allowed_datasets_are_read_under_their_agreements(provider: DspProvider, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_pipeline(parse_config(pipeline_config(provider.url)), out)

    manifest = json.loads((out / "manifest.json").read_text())
    datasets = {d["dataset_id"]: d for d in manifest["run"]["datasets"]}
    assert set(datasets) == {NEWS, FORUM, CRAWL}
    assert datasets[CRAWL]["decision"] == "deny" and "tdm:mine" in datasets[CRAWL]["reason"]
    assert datasets[CRAWL]["documents_in"] == 0
    with gzip.open(CORPUS / "news.jsonl.gz", "rb") as news:  # the sample holds invalid UTF-8 on purpose
        news_records = sum(1 for line in news if line.strip())
    assert datasets[NEWS]["documents_in"] == news_records
    for dataset in (NEWS, FORUM):
        entry = datasets[dataset]
        assert entry["decision"] == "allow" and entry["agreement_id"].startswith("urn:")
        assert entry["publisher"] == PROVIDER_ID and entry["files"] == 1
        assert entry["documents_kept"] > 0
    assert datasets[NEWS]["agreement_id"] != datasets[FORUM]["agreement_id"]
    assert result.summary.datasets == manifest["run"]["datasets"]

    data = ds.dataset(out / "data", format="parquet").to_table()
    assert data.num_rows == result.summary.by_status["kept"]
    agreement_of = {d: datasets[d]["agreement_id"] for d in (NEWS, FORUM)}
    for row in data.select(["dataset_id", "agreement_id", "publisher", "policy", "source"]).to_pylist():
        assert row["agreement_id"] == agreement_of[row["dataset_id"]]
        assert row["publisher"] == PROVIDER_ID and row["source"] == "dsp"
        assert row["policy"] == f"allow:{datasets[row['dataset_id']]['policy_id']}"
    ledger = ds.dataset(out / "ledger", format="parquet").to_table()
    assert ledger.num_rows == result.summary.inputs
    assert pc.all(pc.is_valid(ledger["agreement_id"])).as_py()

    lines = (out / "logs" / "dsp" / "source-000.jsonl").read_text().splitlines()
    transcript = [json.loads(line) for line in lines]
    sent = [entry["message"]["@type"] for entry in transcript if entry["direction"] == "out"]
    assert sent.count("TransferCompletionMessage") == 2 and "TransferTerminationMessage" not in sent
    if SCHEMAS_DIR.is_dir():
        for entry in transcript:
            if isinstance(entry["message"], dict) and "@type" in entry["message"]:
                assert_valid(entry["message"])
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".txt", ".md"):
            assert "Bearer " not in path.read_text(errors="replace"), path


def test_a_run_whose_every_dataset_is_refused_fails_with_the_reasons(tmp_path: Path) -> None:
    refused = [SAMPLE_DATASETS[2]]
    with (
        DspProvider(parse_provider_config(provider_config(refused))) as peer,
        pytest.raises(RunError, match="no source yielded any input.*deny"),
    ):
        run_pipeline(parse_config(pipeline_config(peer.url)), tmp_path / "out")


def test_the_cli_prints_one_line_per_dataset(provider: DspProvider, tmp_path: Path, capsys) -> None:
    config = tmp_path / "dsp.json"
    config.write_text(json.dumps(pipeline_config(provider.url, datasets=[NEWS, CRAWL])))
    assert main(["--config", str(config), "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert NEWS in printed and CRAWL in printed and "deny" in printed


def test_a_dsp_run_cannot_detach(provider: DspProvider, tmp_path: Path) -> None:
    config = tmp_path / "dsp.json"
    config.write_text(json.dumps(pipeline_config(provider.url, dataset=NEWS, datasets=None)))
    assert (
        main(["--config", str(config), "--output", str(tmp_path / "out"), "--engine", "slurm", "--detach"])
        == 1
    )
