"""The end of a run: a failing gate fails the run and blocks publishing; a passing run is published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import sample_config_data

from pipelines.run import main


def _config(tmp_path: Path, **sections: object) -> Path:
    data = sample_config_data(kind="local", workers=2)
    data.update(sections)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_a_failing_gate_fails_the_run_with_one_line_and_blocks_publishing(tmp_path: Path, capsys) -> None:
    target = tmp_path / "published"
    config = _config(
        tmp_path,
        validation={"max_chars": 200},  # every kept document of the sample is longer
        publish={"kind": "fsspec", "url": str(target)},
    )
    out = tmp_path / "out"
    assert main(["--config", str(config), "--output", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith(
        "error: validation failed: data: expect_column_value_lengths_to_be_between(text)"
    )
    assert not target.exists()  # nothing was published
    failed = out / ".work" / "outputs"  # unfinished: the same command resumes it; nothing switched in
    summary = json.loads((failed / "validation" / "summary.json").read_text())
    assert summary["passed"] is False and summary["suites"] == {"data": False, "ledger": True}
    assert not (out / "manifest.json").exists()
    events = sorted(p.name for p in (failed / "lineage").iterdir())
    assert events == ["001-START.json", "002-FAIL.json"]

    # The same command again resumes the run: only the gate runs again, and fails again.
    assert main(["--config", str(config), "--output", str(out)]) == 1
    assert "validation failed" in capsys.readouterr().err


def test_a_failing_gate_without_fail_run_is_reported(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path, validation={"max_chars": 200, "fail_run": False})
    assert main(["--config", str(config), "--output", str(tmp_path / "out")]) == 0
    assert "validation: FAILED (not failing the run" in capsys.readouterr().out
    assert not (tmp_path / "out" / ".work").exists()


def test_a_passing_run_is_documented_validated_and_published(tmp_path: Path, capsys) -> None:
    target = tmp_path / "published"
    config = _config(tmp_path, publish={"kind": "fsspec", "url": str(target), "include_ledger": False})
    out = tmp_path / "out"
    assert main(["--config", str(config), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "validation: passed (data, ledger)" in printed and "published:" in printed
    for name in ("README.md", "ai_act_summary.md", "ai_act_summary.json", "report.html", "manifest.json"):
        assert (out / name).is_file() and (target / name).is_file(), name
    assert (target / "_SUCCESS").is_file() and not (target / "ledger").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"].startswith("data/"):
            assert (target / entry["path"]).read_bytes() == (out / entry["path"]).read_bytes()
    record = json.loads((out / "logs" / "publish.json").read_text())
    assert record["kind"] == "fsspec" and record["files"] > 0
    assert sorted(p.name for p in (out / "lineage").iterdir()) == ["001-START.json", "002-COMPLETE.json"]
    assert not (out / ".work").exists()


def test_the_gate_can_be_switched_off(tmp_path: Path) -> None:
    config = _config(tmp_path, validation={"enabled": False})
    assert main(["--config", str(config), "--output", str(tmp_path / "out")]) == 0
    assert not (tmp_path / "out" / "validation").exists()


def test_secrets_in_the_environment_reach_no_output_file(tmp_path: Path, monkeypatch) -> None:
    """Credentials the tasks inherit (cloud keys, Hub and DSP tokens) are in no file of the run's folder."""
    planted = {
        "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-4711",
        "HF_TOKEN": "hf_plantedtoken4711",
        "DSP_TOKEN": "Bearer planted-dsp-4711",
    }
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    assert main(["--config", str(_config(tmp_path)), "--output", str(out)]) == 0
    for path in out.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for value in planted.values():
                assert value.encode() not in content, f"{value} in {path}"


PLANTED_IN_CONFIG = {
    "a URL with credentials": {"url": "https://alice:planted-pw-4711@example.org/a.jsonl"},
    "storage options": {"url": "s3://bucket/a.jsonl", "storage_options": {"secret": "planted-s3-4711"}},
    "HTTP headers": {
        "url": "https://example.org/a.jsonl",
        "storage_options": {
            "headers": {"Authorization": "Bearer planted-hdr-4711", "X-Api-Key": "planted-4711"}
        },
    },
}


@pytest.mark.parametrize("where", sorted(PLANTED_IN_CONFIG))
def test_a_secret_written_into_a_config_is_refused_without_repeating_it(
    tmp_path: Path, capsys, where
) -> None:
    """A credential in a config (instead of the environment) stops the run before anything is read or
    written, and the error names where it is, not what it is."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"name": "t", "sources": [{"kind": "files", **PLANTED_IN_CONFIG[where]}]}))
    assert main(["--config", str(config), "--output", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr()
    assert "error: " in printed.err and "planted" not in printed.err + printed.out
    assert not (tmp_path / "out").exists()
