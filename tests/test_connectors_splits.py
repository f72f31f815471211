"""Large files split across tasks by byte range read exactly the records (ids, texts) of the whole file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from connectors.files import InputUnit, plan_files
from connectors.reader import SourceReader
from pipelines.runner import run_pipeline
from schemas.config import FilesSource, parse_config


def plan(path: Path, split_mb: float) -> list[InputUnit]:
    return plan_files(FilesSource(kind="files", url=str(path), split_mb=split_mb), 0)


def documents(units: list[InputUnit], tmp_path: Path) -> list[tuple[str, str, object, object]]:
    reader = SourceReader(units, [None] * len(units), str(tmp_path / "counts"))
    return [
        (doc.id, doc.text, doc.metadata["status"], doc.metadata["reason"])
        for rank in range(len(units))
        for doc in reader.run(rank=rank)
    ]


def assert_split_reads_the_same(path: Path, split_mb: float, tmp_path: Path, min_units: int) -> None:
    whole = plan(path, 1024)
    split = plan(path, split_mb)
    assert len(whole) == 1 and len(split) >= min_units
    assert split == plan(path, split_mb), "planning depends only on the input"
    starts = [u.start for u in split]
    assert starts[0] == 0 and starts == sorted(set(starts))
    assert [u.end for u in split] == [*starts[1:], None]
    size = path.stat().st_size  # what each unit reads, for scheduling larger units first
    assert whole[0].size == size and sum(u.size for u in split) == size
    ends = [*starts[1:], size]
    assert [u.size for u in split] == [end - start for start, end in zip(starts, ends, strict=True)]
    expected = documents(whole, tmp_path)
    assert expected and documents(split, tmp_path) == expected


def test_generated_jsonl_split_matches_unsplit(tmp_path):
    path = tmp_path / "big.jsonl"
    lines = []
    for i in range(400):
        if i % 97 == 0:
            lines.append(b"{broken json")
        elif i % 53 == 0:
            lines.append(b"")
        else:
            size = 2000 if i % 41 == 0 else 10 + (i * 7) % 120  # some lines span a whole unit
            lines.append(json.dumps({"text": f"Satz {i}: " + "äöü" * size}).encode())
    path.write_bytes(b"\n".join(lines))  # no newline at the end
    assert_split_reads_the_same(path, 0.002, tmp_path, min_units=20)


@pytest.mark.parametrize(
    "name",
    [
        "resiliparse/warcfile.warc.gz",
        "dolma/sample-0000.warc.gz",
        "warcio/example.warc",
        "warcio/example-trunc.warc",
    ],
)
def test_real_warc_split_at_record_boundaries_matches_unsplit(shared_data, tmp_path, name):
    path = shared_data / "web" / "warc" / name
    split_mb = 0.01 if path.stat().st_size > 50_000 else 0.001
    assert_split_reads_the_same(path, split_mb, tmp_path, min_units=2)


def test_compressed_jsonl_and_csv_are_not_split(tmp_path):
    (tmp_path / "a.jsonl.gz").write_bytes(b"\x1f\x8b" + b"\0" * 5000)
    (tmp_path / "b.csv").write_text("text\n" + "zeile\n" * 2000)
    assert len(plan(tmp_path / "a.jsonl.gz", 0.001)) == 1
    assert len(plan(tmp_path / "b.csv", 0.001)) == 1


def test_split_run_writes_the_same_documents_as_unsplit(shared_data, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(shared_data / "web" / "warc" / "resiliparse" / "warcfile.warc.gz", corpus / "w.warc.gz")
    (corpus / "t.jsonl").write_text(
        "".join(json.dumps({"text": f"Dokument {i} " + "wort " * (i % 30)}) + "\n" for i in range(300))
    )
    results = {}
    for split_mb, workers in ((1024, 1), (0.01, 2)):
        config = parse_config(
            {
                "name": "split",
                "sources": [{"kind": "files", "url": str(corpus / "*"), "split_mb": split_mb}],
                "engine": {"workers": workers},
            }
        )
        out = tmp_path / f"out-{split_mb}"
        result = run_pipeline(config, out)
        ledger = pq.read_table(out / "ledger").to_pylist()
        data = pq.read_table(out / "data").select(["id", "text", "source_uri"]).to_pylist()
        results[split_mb] = (
            result.summary.inputs,
            sorted((r["id"], r["status"], r["reason"]) for r in ledger),
            sorted((d["id"], d["text"], d["source_uri"]) for d in data),
        )
    assert results[1024][0] > 300 and results[1024] == results[0.01]
