"""The output folder: staged runs switched in on success, run markers, inputs kept apart, stable ids,
and the checks every run's outputs pass before they are switched in."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.outputs import (
    RUN_MARKER,
    OutputError,
    finish_switch,
    prepare_output,
    read_marker,
    staged_tree,
    switch_outputs,
)
from pipelines.runner import RunError, complete_run, plan_run, run_phases, run_pipeline
from schemas.config import ConfigError, parse_config

TEXT = (
    "The committee met on Tuesday to discuss the new cycling routes along the river. Residents asked "
    "whether the bridge would be closed during the works, and the council promised a timetable. "
)


def _corpus(folder: Path, name: str = "a.jsonl.gz", docs: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"text": f"{TEXT} Item {i} of {name}."}) for i in range(docs)]
    (folder / name).write_bytes(gzip.compress("\n".join(lines).encode(), mtime=0))
    return folder


def _config(*sources: dict, **extra) -> dict:
    return {"name": "t", "sources": list(sources), "stages": [{"kind": "normalize"}], **extra}


def _files(folder: Path, **extra) -> dict:
    return {"kind": "files", "url": str(folder / "*.jsonl.gz"), **extra}


def _digests(out: Path, *kinds: str) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for kind in kinds
        for p in sorted((out / kind).rglob("*"))
        if p.is_file()
    }


# ---------------------------------------------------------------- switching staged outputs in


def _stage(out: Path, files: dict[str, str], fingerprint: str = "f") -> None:
    prepare_output(out, fingerprint)
    for name, text in files.items():
        path = staged_tree(out) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_switch_replaces_only_what_the_previous_run_wrote(tmp_path):
    out = tmp_path / "out"
    _stage(
        out, {"data/de/part-0.parquet": "old de", "data/nl/part-0.parquet": "old nl", "manifest.json": "1"}
    )
    switch_outputs(out, "run-1")
    (out / "notes.txt").write_text("mine")
    (out / "data" / "de" / "mine.csv").write_text("mine too")

    _stage(out, {"data/de/part-0.parquet": "new de", "manifest.json": "2"}, fingerprint="g")
    assert (out / "data" / "nl" / "part-0.parquet").read_text() == "old nl"  # untouched until the switch
    switch_outputs(out, "run-2")

    assert (out / "data" / "de" / "part-0.parquet").read_text() == "new de"
    assert not (out / "data" / "nl").exists()  # emptied by removing the old run's file
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "data" / "de" / "mine.csv").read_text() == "mine too"
    assert read_marker(out) == {"run_id": "run-2", "files": ["data/de/part-0.parquet", "manifest.json"]}
    assert not (out / ".work").exists()


def test_a_file_in_the_way_stops_the_switch_before_anything_moves(tmp_path):
    out = tmp_path / "out"
    _stage(out, {"manifest.json": "1"})
    switch_outputs(out, "run-1")
    (out / "report.html").write_text("a user's own report")
    _stage(out, {"manifest.json": "2", "report.html": "ours"}, fingerprint="g")
    with pytest.raises(OutputError, match="report.html is in the way"):
        switch_outputs(out, "run-2")
    assert (out / "report.html").read_text() == "a user's own report"
    assert (out / "manifest.json").read_text() == "1"
    assert (staged_tree(out) / "report.html").read_text() == "ours"

    (out / "report.html").rename(tmp_path / "kept.html")
    switch_outputs(out, "run-2")
    assert (out / "report.html").read_text() == "ours"


def test_an_interrupted_switch_is_finished_by_the_next_start(tmp_path):
    out = tmp_path / "out"
    _stage(out, {"a.txt": "old a", "b.txt": "old b"})
    switch_outputs(out, "run-1")
    _stage(out, {"a.txt": "new a", "c.txt": "new c"}, fingerprint="g")
    journal = {"run_id": "run-2", "remove": ["b.txt"], "add": ["a.txt", "c.txt"]}
    (out / ".work" / "switch.json").write_text(json.dumps(journal))
    (staged_tree(out) / "a.txt").replace(out / "a.txt")  # the switch died after its first move

    assert prepare_output(out, "h") is False  # finishes run-2's switch, then plans the new run
    assert (out / "a.txt").read_text() == "new a" and (out / "c.txt").read_text() == "new c"
    assert not (out / "b.txt").exists()
    assert read_marker(out)["files"] == ["a.txt", "c.txt"]


def test_a_marker_pointing_outside_the_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "victim.txt").write_text("precious")
    (out / RUN_MARKER).write_text(json.dumps({"run_id": "x", "files": ["../victim.txt"]}))
    with pytest.raises(OutputError, match="not a run marker"):
        prepare_output(out, "f")
    assert (tmp_path / "victim.txt").read_text() == "precious"
    finish_switch(out)  # nothing to finish


# ---------------------------------------------------------------- whole runs


def test_a_failed_run_leaves_the_previous_outputs_intact(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    run_pipeline(parse_config(_config(_files(corpus))), out, workers=1)
    before = _digests(out, "data", "ledger") | {"manifest.json": _digests(out, ".")["manifest.json"]}

    bad = _config(_files(corpus), validation={"max_chars": 10})
    with pytest.raises(RunError, match="validation failed"):
        run_pipeline(parse_config(bad), out, workers=1)
    assert _digests(out, "data", "ledger") | {"manifest.json": _digests(out, ".")["manifest.json"]} == before


def test_outputs_that_do_not_match_the_manifest_are_not_switched_in(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    config = parse_config(_config(_files(corpus)))
    run = plan_run(config, out, workers=1)
    try:
        run_phases(run, run.phase_names())
    finally:
        run.close(True)
    shard = next((run.tree / "data").rglob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    with pytest.raises(RunError, match="output check failed: .*sha256"):
        complete_run(run)
    assert not (out / "data").exists() and not (out / RUN_MARKER).exists()


def test_a_shard_missing_a_kept_document_fails_the_ledger_check(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    run = plan_run(parse_config(_config(_files(corpus))), tmp_path / "out", workers=1)
    try:
        run_phases(run, ["curate", "write"])
        part = next((run.output / ".work" / "parts" / "data").rglob("*.parquet"))
        table = pq.read_table(part)
        pq.write_table(table.slice(1), part)
        with pytest.raises(RunError, match="ledger check failed: .*does not hold exactly the kept documents"):
            run_phases(run, ["finalize"])
    finally:
        run.close(False)


@pytest.mark.parametrize("url", ["{corpus}", "{corpus}/", "{corpus}/**/*.jsonl.gz", "{corpus}/**"])
def test_output_where_a_source_lists_its_inputs_is_refused(tmp_path, url):
    corpus = _corpus(tmp_path / "corpus")
    source = {"kind": "files", "url": url.format(corpus=corpus), "format": "jsonl"}
    with pytest.raises(RunError, match="lies where sources\\[0\\] lists its input files"):
        run_pipeline(parse_config(_config(source)), corpus / "out")
    assert not (corpus / "out").exists()


@pytest.mark.parametrize("url", ["{corpus}/*.jsonl.gz", "{corpus}/a.jsonl.gz", "{corpus}/x*/*"])
def test_output_beside_the_inputs_is_fine(tmp_path, url):
    corpus = _corpus(tmp_path / "corpus")
    (corpus / "x1").mkdir()
    (corpus / "x1" / "b.jsonl").write_text(json.dumps({"text": TEXT}) + "\n")
    source = {"kind": "files", "url": url.format(corpus=corpus), "format": "jsonl"}
    run_pipeline(parse_config(_config(source)), corpus / "out", workers=1)
    assert (corpus / "out" / "manifest.json").is_file()


def test_input_inside_the_output_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    corpus = _corpus(out / "corpus")
    with pytest.raises(RunError, match="input .*a.jsonl.gz lies inside the output folder"):
        run_pipeline(parse_config(_config(_files(corpus))), out)
    assert (corpus / "a.jsonl.gz").exists()


# ---------------------------------------------------------------- identity


def test_ids_do_not_depend_on_where_the_data_is_mounted(tmp_path):
    here = _corpus(tmp_path / "mnt" / "a" / "corpus")
    _corpus(here, "b.jsonl.gz")
    there = tmp_path / "scratch" / "copy"
    shutil.copytree(here, there)  # keeps modification times (the documents' retrieved_at)
    for folder, out in ((here, tmp_path / "o1"), (there, tmp_path / "o2")):
        run_pipeline(parse_config(_config(_files(folder))), out, workers=1)

    assert _digests(tmp_path / "o1", "data") == _digests(tmp_path / "o2", "data")
    first, second = pq.read_table(tmp_path / "o1" / "ledger"), pq.read_table(tmp_path / "o2" / "ledger")
    assert (
        first.sort_by("id")
        .select(["id", "source_uri"])
        .equals(second.sort_by("id").select(["id", "source_uri"]))
    )
    assert set(first["source_uri"].to_pylist()) == {"a.jsonl.gz", "b.jsonl.gz"}
    manifest = json.loads((tmp_path / "o1" / "manifest.json").read_text())
    assert manifest["run"]["inputs"] == ["a.jsonl.gz", "b.jsonl.gz"]
    data = pq.read_table(tmp_path / "o1" / "data")
    assert not any(str(tmp_path) in value for value in data["source_uri"].to_pylist())


def test_absolute_paths_when_asked_for(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    run_pipeline(parse_config(_config(_files(corpus, paths="absolute"))), tmp_path / "out", workers=1)
    uris = set(pq.read_table(tmp_path / "out" / "ledger")["source_uri"].to_pylist())
    assert uris == {(corpus / "a.jsonl.gz").as_uri()}


def test_sources_with_the_same_file_names_need_names(tmp_path):
    one, two = _corpus(tmp_path / "one"), _corpus(tmp_path / "two")
    with pytest.raises(
        RunError, match="both have a file named a.jsonl.gz; give the sources different `name`s"
    ):
        run_pipeline(parse_config(_config(_files(one), _files(two))), tmp_path / "out")

    named = _config(_files(one, name="one"), _files(two, name="two"))
    run_pipeline(parse_config(named), tmp_path / "out", workers=1)
    uris = set(pq.read_table(tmp_path / "out" / "ledger")["source_uri"].to_pylist())
    assert uris == {"one/a.jsonl.gz", "two/a.jsonl.gz"}


def test_a_source_name_is_one_path_segment(tmp_path):
    with pytest.raises(ConfigError, match="name"):
        parse_config(_config(_files(tmp_path, name="../up")))
