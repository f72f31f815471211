"""The validation gate on a real sample run, and on copies of it broken one way at a time."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import great_expectations.expectations as gxe
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.runner import run_pipeline
from pipelines.validation import GateResult, passes, run_gate
from pipelines.validation.expectations import holds_valid_iban
from pipelines.validation.suites import data_suite
from schemas.config import PipelineConfig, parse_config
from tests.conftest import sample_config_data

EMAIL = "anna.muster@example.de"


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return parse_config(sample_config_data(kind="local", workers=1))


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory, config: PipelineConfig) -> Path:
    out = tmp_path_factory.mktemp("gate") / "out"
    run_pipeline(config, out)
    return out


@pytest.fixture
def out(sample_out: Path, tmp_path: Path) -> Path:
    """A copy of the sample run's output, to break."""
    return Path(shutil.copytree(sample_out, tmp_path / "out", ignore=shutil.ignore_patterns("validation")))


def rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def set_value(column: str, row: int, value: object) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        values = table[column].to_pylist()
        values[row] = value(values[row]) if callable(value) else value
        index = table.schema.get_field_index(column)
        return table.set_column(
            index, table.schema.field(index), pa.array(values, table.schema.field(index).type)
        )

    return change


def first_data_shard(out: Path) -> Path:
    return sorted(out.glob("data/*/*.parquet"))[0]


def ledger_row(out: Path, status: str) -> tuple[Path, int]:
    """A ledger part and the index of its first row with ``status``."""
    for path in sorted(out.glob("ledger/*.parquet")):
        statuses = pq.read_table(path, columns=["status"])["status"].to_pylist()
        if status in statuses:
            return path, statuses.index(status)
    raise AssertionError(f"no {status} row in the ledger")


def failed_with(result: GateResult, start: str) -> str:
    assert result.passed is False
    lines = [line for line in result.failures if line.startswith(start)]
    assert lines, f"no failure starting {start!r} in {result.failures}"
    return lines[0]


def test_the_sample_run_passes_and_writes_results(sample_out: Path, config: PipelineConfig) -> None:
    result = run_gate(sample_out, config)
    assert result.passed, result.failures
    assert result.suites == {"data": True, "ledger": True}
    assert result.failures == [] and result.first_failure is None
    folder = sample_out / "validation"
    summary = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((sample_out / "manifest.json").read_text())
    assert summary["passed"] is True
    assert summary["rows"] == {"data": manifest["counts"]["kept"], "ledger": manifest["counts"]["inputs"]}
    for suite in ("data", "ledger"):
        validation = json.loads((folder / f"{suite}.json").read_text())
        assert validation["success"] is True and validation["suite_name"] == suite
        assert validation["statistics"]["unsuccessful_expectations"] == 0
    assert (folder / "data_docs" / "index.html").is_file()
    assert list((folder / "data_docs" / "validations").rglob("*.html"))


def test_a_duplicated_data_id_fails(out: Path, config: PipelineConfig) -> None:
    shard = first_data_shard(out)
    first_id = pq.read_table(shard, columns=["id"])["id"][0].as_py()
    rewrite(shard, set_value("id", 1, first_id))
    line = failed_with(run_gate(out, config), "data: expect_column_values_to_be_unique(id) failed: 2 rows")
    assert first_id in line


def test_a_language_outside_the_config_fails(out: Path, config: PipelineConfig) -> None:
    rewrite(first_data_shard(out), set_value("lang", 0, "fr"))
    line = failed_with(run_gate(out, config), "data: expect_column_values_to_be_in_set(lang) failed")
    assert line.endswith("1 row outside [de, en, hu, nl] (e.g. 'fr')")


def test_an_empty_text_fails(out: Path, config: PipelineConfig) -> None:
    shard = first_data_shard(out)
    rewrite(shard, set_value("text", 0, ""))
    line = failed_with(run_gate(out, config), "data: expect_column_value_lengths_to_be_between(text) failed")
    assert "1 row with a length outside [1, 10000000]" in line
    assert pq.read_table(shard, columns=["id"])["id"][0].as_py() in line


def test_a_raw_email_in_a_kept_text_fails_without_being_copied(out: Path, config: PipelineConfig) -> None:
    rewrite(first_data_shard(out), set_value("text", 0, lambda text: f"{text} Kontakt: {EMAIL}"))
    result = run_gate(out, config)
    line = failed_with(result, "data: expect_column_values_to_not_match_regex(text) failed")
    assert "1 row holding a raw e-mail address" in line
    assert EMAIL not in (out / "validation" / "data.json").read_text() + "\n".join(result.failures)


def test_a_valid_iban_is_raw_pii_and_a_mistyped_one_is_not() -> None:
    assert holds_valid_iban("Bitte an DE89 3704 0044 0532 0130 00 überweisen.")
    assert holds_valid_iban("IBAN:NL91ABNA0417164300.")
    assert not holds_valid_iban("Bei der Nummer DE26 8024 6025 6763 6101 64 hatte ich mich vertippt.")
    assert not holds_valid_iban("Konto DE89 3704 0044 0532 0130 0012 (zu lang)")
    assert not holds_valid_iban("Bitte an <IBAN> überweisen.")


def test_a_missing_ledger_row_breaks_conservation(out: Path, config: PipelineConfig) -> None:
    part, row = ledger_row(out, "filtered")
    rewrite(part, lambda table: pa.concat_tables([table.slice(0, row), table.slice(row + 1)]))
    inputs = json.loads((out / "manifest.json").read_text())["counts"]["inputs"]
    line = failed_with(run_gate(out, config), "ledger: expect_table_row_count_to_equal failed")
    assert line == (
        f"ledger: expect_table_row_count_to_equal failed: {inputs - 1} rows, expected {inputs} "
        "(manifest.json counts.inputs)"
    )


def test_an_unknown_status_fails(out: Path, config: PipelineConfig) -> None:
    part, row = ledger_row(out, "filtered")
    rewrite(part, set_value("status", row, "lost"))
    line = failed_with(run_gate(out, config), "ledger: expect_column_values_to_be_in_set(status) failed")
    assert line.endswith("1 row outside [kept, filtered, duplicate, quarantined] (e.g. 'lost')")


def test_a_reason_from_no_stage_fails(out: Path, config: PipelineConfig) -> None:
    part, row = ledger_row(out, "filtered")
    rewrite(part, set_value("reason", row, "bogus:rule"))
    line = failed_with(run_gate(out, config), "ledger: expect_column_values_to_match_regex(reason) failed")
    assert "1 row with a reason prefix outside [input, optout," in line and "(e.g. 'bogus:rule')" in line


def test_a_kept_id_missing_from_the_data_fails(out: Path, config: PipelineConfig) -> None:
    shard = first_data_shard(out)
    lost = pq.read_table(shard, columns=["id"])["id"][0].as_py()
    rewrite(shard, lambda table: table.slice(1))
    result = run_gate(out, config)
    line = failed_with(result, "ledger: expect_column_pair_values_to_be_equal(shard, data_shard) failed")
    assert f"1 row where the ledger's shard is not the data file that holds the id (e.g. id {lost!r}" in line
    assert f"'{shard.relative_to(out).as_posix()}' vs None" in line
    failed_with(result, "data: expect_table_row_count_to_equal failed")


def test_a_missing_provenance_column_fails(out: Path, config: PipelineConfig) -> None:
    rewrite(first_data_shard(out), lambda table: table.drop_columns(["url"]))
    failed_with(run_gate(out, config), "data: expect_column_to_exist(url) failed: no such column")


def test_unknown_ledger_columns_are_ignored(out: Path, config: PipelineConfig) -> None:
    for part in out.glob("ledger/*.parquet"):
        rewrite(part, lambda table: table.append_column("evidence", pa.nulls(len(table), pa.string())))
    assert run_gate(out, config).passed


def test_the_gate_reports_whatever_fail_run_says(out: Path) -> None:
    data = sample_config_data(kind="local", workers=1)
    data["validation"] = {"fail_run": False, "data_docs": False}
    rewrite(first_data_shard(out), set_value("lang", 0, "fr"))
    result = run_gate(out, parse_config(data))
    assert result.passed is False and result.suites == {"data": False, "ledger": True}
    assert result.first_failure is not None and result.first_failure.startswith("data: ")
    summary = json.loads((out / "validation" / "summary.json").read_text())
    assert summary["failures"] == result.failures
    assert not (out / "validation" / "data_docs").exists()


def test_gx_writes_only_under_the_output(
    out: Path, config: PipelineConfig, tmp_path: Path, monkeypatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    run_gate(out, config)
    assert list(cwd.iterdir()) == []


def test_batches_add_up_to_one_result(out: Path, config: PipelineConfig, monkeypatch) -> None:
    monkeypatch.setattr(passes, "BATCH_ROWS", 32)
    shards = sorted(out.glob("data/*/*.parquet"))
    repeated = pq.read_table(shards[0], columns=["id"])["id"][0].as_py()
    rewrite(shards[1], set_value("id", 0, repeated))
    for shard in shards[2:4]:
        rewrite(shard, set_value("lang", 0, "fr"))
    result = run_gate(out, config)
    failed_with(result, "data: expect_column_values_to_be_unique(id) failed: 2 rows")
    failed_with(result, "data: expect_column_values_to_be_in_set(lang) failed: 2 rows outside")
    data = json.loads((out / "validation" / "data.json").read_text())
    assert data["meta"]["batches"] > 5 and data["meta"]["rows"] == len(pq.read_table(out / "data"))
    lengths = next(
        r for r in data["results"] if r["expectation_config"]["type"].endswith("lengths_to_be_between")
    )
    assert lengths["result"]["element_count"] == data["meta"]["rows"]


def test_the_suites_follow_the_config() -> None:
    data = sample_config_data(kind="local", workers=1)
    data["stages"] = [{"kind": "normalize"}, {"kind": "pii", "types": ["email"]}]
    expectations = data_suite(parse_config(data)).expectations
    lang = next(e for e in expectations if isinstance(e, gxe.ExpectColumnValuesToBeInSet))
    assert lang.value_set == ["und"]
    assert not [
        e for e in expectations if isinstance(e, gxe.ExpectColumnValuesToNotBeNull) and e.column == "lang"
    ]
    assert [e.meta["unexpected"] for e in expectations if e.column == "text" and e.meta] == [
        "holding a raw e-mail address"
    ]
