"""The Beam engine: the sample on the DirectRunner (multi-processing) writes the local engine's bytes;
runner and pipeline options pass through from the config and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.engines import make_engine
from pipelines.engines.base import Phase, PhaseFailed
from pipelines.run import with_beam_overrides
from pipelines.runner import run_pipeline
from schemas.config import ConfigError, EngineConfig, parse_config
from tests.conftest import output_digests, sample_config_data
from tests.engine_steps import FailingStep

beam = pytest.importorskip("apache_beam", reason="the `beam` extra is not installed")


def test_sample_on_beam_writes_the_local_bytes(tmp_path: Path) -> None:
    config = parse_config(sample_config_data())
    local = run_pipeline(config, tmp_path / "local", workers=2, engine_kind="local")
    seen: dict[str, tuple[int, int]] = {}
    on_beam = run_pipeline(
        config,
        tmp_path / "beam",
        workers=2,
        engine_kind="beam",
        progress=lambda phase, done, total: seen.__setitem__(phase, (done, total)),
    )
    assert output_digests(on_beam.output) == output_digests(local.output)
    assert on_beam.summary.to_json() == local.summary.to_json()
    assert seen["curate"] == (3, 3) and seen["finalize"] == (1, 1)


def test_failed_task_names_its_phase(tmp_path: Path) -> None:
    engine = make_engine("beam", 1, EngineConfig(kind="beam"))
    phases = [
        Phase("first", "first", [FailingStep()], tasks=2),
        Phase("second", "second", [FailingStep()], tasks=1, depends=("first",)),
    ]
    with pytest.raises(PhaseFailed, match=r"first phase failed: .*task 1 breaks") as failed:
        engine.run(phases, tmp_path / "logs")
    assert failed.value.phase == "first"
    assert not (tmp_path / "logs" / "second" / "completions").exists()  # never started


def test_runner_and_options_pass_through() -> None:
    config = with_beam_overrides(
        parse_config(sample_config_data()),
        "FlinkRunner",
        ["--flink_master=jupiter-login:8081", "--parallelism=64"],
    )
    options = make_engine("beam", 4, config.engine).pipeline_options().get_all_options()
    assert options["runner"] == "FlinkRunner"
    assert options["flink_master"] == "jupiter-login:8081" and options["parallelism"] == 64
    direct = make_engine("beam", 3, EngineConfig(kind="beam")).pipeline_options().get_all_options()
    assert direct["direct_running_mode"] == "multi_processing" and direct["direct_num_workers"] == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--aws_secret_access_key=AKIA123"], "looks like a credential"),
        (["--runner=SparkRunner"], "set `runner`"),
        (["flink_master=x"], "engine.beam.options"),
    ],
)
def test_bad_options_are_config_errors(options: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        with_beam_overrides(parse_config(sample_config_data()), None, options)
    assert "AKIA123" not in str(error.value)
