"""Airflow (3.x): every config in ``configs/`` becomes a DAG that imports cleanly, and the sample DAG
runs end to end with ``dag.test()`` on SQLite in a temporary ``AIRFLOW_HOME``, offline, writing
what ``python -m pipelines.run`` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.runner import run_pipeline
from schemas.config import load_config, parse_config
from tests.conftest import output_digests, sample_config_data

pytest.importorskip("airflow", reason="the `airflow` extra is not installed")

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "airflow_dags"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "JAIF_OUTPUT_ROOT": str(home / "out"),
        "LOGURU_LEVEL": "WARNING",
    }
    airflow = Path(sys.executable).parent / "airflow"
    migrated = subprocess.run(
        [str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    return env


@pytest.fixture(scope="module")
def sample_dag_run(airflow_env: dict[str, str]) -> tuple[dict, dict]:
    probe = subprocess.run(
        [sys.executable, str(REPO / "tests" / "airflow_probe.py"), str(DAGS), "jaif_sample"],
        env=airflow_env,
        cwd=Path(airflow_env["AIRFLOW_HOME"]),  # not the project: the DAGs must not rely on the cwd
        capture_output=True,
        text=True,
        timeout=900,
    )
    lines = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
    assert probe.returncode == 0 and len(lines) == 2, probe.stderr[-3000:]
    return lines[0], lines[1]


def test_every_config_is_a_dag_that_imports(sample_dag_run) -> None:
    bag, _ = sample_dag_run
    assert bag["import_errors"] == {}
    configs = sorted(p for p in (REPO / "configs").iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    assert bag["dag_ids"] == sorted(f"jaif_{load_config(p).name}" for p in configs)


def test_sample_dag_runs_the_pipeline_end_to_end(sample_dag_run, airflow_env, tmp_path: Path) -> None:
    _, run = sample_dag_run
    assert run["state"] == "success"
    assert run["order"] == ["plan", "curate", "dedup", "write", "finalize", "validate", "publish", "summary"]
    assert set(run["tasks"].values()) == {"success"}
    assert all(run["retries"][task] == 2 for task in run["order"])
    out = Path(airflow_env["JAIF_OUTPUT_ROOT"]) / "sample"
    manifest = json.loads((out / "manifest.json").read_text())
    assert run["summary"] == manifest["counts"] and manifest["counts"]["inputs"] == 327

    local = run_pipeline(parse_config(sample_config_data()), tmp_path / "local", engine_kind="local")
    assert output_digests(out) == output_digests(local.output)
