"""The Beam engine: the sample on the DirectRunner (multi-processing) writes the local engine's bytes;
the dedup hand-overs go through Beam's shuffle, not files; runner and pipeline options pass through
from the config and the command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from datatrove.pipeline.readers import ParquetReader

from pipelines.dedup.components import component_phases, read_decisions
from pipelines.dedup.tasks import (
    BucketVerifier,
    CandidateSignatures,
    DedupKeyWriter,
    DedupLayout,
    ExactKeyLinks,
    LshBuckets,
)
from pipelines.engines import make_engine
from pipelines.engines.base import Phase, PhaseFailed
from pipelines.run import with_beam_overrides
from pipelines.runner import run_pipeline
from schemas.config import ConfigError, EngineConfig, parse_config
from schemas.document import CONTENT_KEY, MINHASH, ORDER
from tests.conftest import output_digests, sample_config_data
from tests.engine_steps import FailingStep
from tests.test_dedup_tasks import PARAMS, run_tasks, variant_families

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


def test_shared_chrome_on_beam_writes_the_local_bytes(tmp_path: Path) -> None:
    """The boilerplate hand-overs (page lines, boilerplate lines, band rows from the sign tasks) too."""
    from tests.chrome_corpus import write_chrome_site
    from tests.test_dedup_boilerplate import site_config

    write_chrome_site(tmp_path / "in", files=3)
    config = parse_config(site_config(tmp_path / "in"))
    local = run_pipeline(config, tmp_path / "local", workers=2, engine_kind="local")
    on_beam = run_pipeline(config, tmp_path / "beam", workers=2, engine_kind="beam")
    assert output_digests(on_beam.output) == output_digests(local.output)
    assert on_beam.summary.to_json() == local.summary.to_json()
    reasons = pq.read_table(local.output / "ledger", columns=["reason"]).column("reason").to_pylist()
    assert reasons.count("near_dedup:minhash") >= 6  # two reshuffled copies of each short article


def write_documents(per_task: list[list[Document]], folder: Path) -> None:
    """Each curate task's documents as one Parquet file (``ParquetReader`` gives task ``r`` file ``r``)."""
    folder.mkdir(parents=True)
    for rank, docs in enumerate(per_task):
        columns = {
            "text": [d.text for d in docs],
            "id": [d.id for d in docs],
            ORDER: pa.array([d.metadata[ORDER] for d in docs], pa.int64()),
            CONTENT_KEY: pa.array([d.metadata[CONTENT_KEY] for d in docs], pa.binary()),
            MINHASH: pa.array([d.metadata[MINHASH] for d in docs], pa.binary()),
        }
        pq.write_table(pa.table(columns), folder / f"{rank:05d}.parquet")


def dedup_phases(documents: Path, layout: DedupLayout, staged: Path) -> list[Phase]:
    """The dedup part of the run's graph (:mod:`pipelines.graph`), its curate tasks reading ``documents``."""
    p = layout.partitions
    curate = [ParquetReader(str(documents)), DedupKeyWriter(layout, True, PARAMS)]
    return [
        Phase("curate", "curate", curate, layout.tasks),
        Phase("dedup-exact", "exact", [ExactKeyLinks(layout)], p, ("curate",)),
        Phase("dedup-buckets", "buckets", [LshBuckets(layout)], p, ("curate",)),
        Phase(
            "dedup-signatures",
            "fetch",
            [CandidateSignatures(layout, str(staged))],
            layout.tasks,
            ("dedup-buckets",),
        ),
        Phase("dedup-verify", "verify", [BucketVerifier(layout, PARAMS)], p, ("dedup-signatures",)),
        *component_phases(layout, ("exact", "near"), ("dedup-exact", "dedup-verify")),
    ]


def test_dedup_hand_over_goes_through_the_shuffle(tmp_path: Path) -> None:
    tasks, partitions = 4, 3
    docs = variant_families(200, PARAMS)
    on_files = run_tasks(docs, tasks, partitions, tmp_path / "files")  # also writes the staging files
    write_documents([docs[r::tasks] for r in range(tasks)], tmp_path / "documents")  # run_tasks' split
    layout = DedupLayout(tmp_path / "beam" / "dedup", tasks, partitions)
    phases = dedup_phases(tmp_path / "documents", layout, tmp_path / "files" / "staged")
    engine = make_engine("beam", 2, EngineConfig(kind="beam"))
    engine.run(phases, tmp_path / "logs")

    assert on_files.num_rows > 40
    assert read_decisions(layout).equals(on_files)
    files = {p.relative_to(layout.root).parts[:2] for p in layout.root.rglob("*.parquet")}
    # no keys, candidates, verify, component edges, members or residual files: shuffled
    assert {f[0] for f in files} == {"links", "components", "decisions"}
    assert {f[1] for f in files if f[0] == "components"} == {"nodes", "residual-roots.parquet"}

    # a relaunch with verify task 1 unfinished runs the producers of its rows again (signatures,
    # buckets, curate: shuffled rows outlive no pipeline run), so it gets its partition, not nothing
    (tmp_path / "logs" / "dedup-verify" / "completions" / "00001").unlink()
    for phase in component_phases(layout, ("exact", "near"), ()):
        for completion in (tmp_path / "logs" / phase.name / "completions").iterdir():
            completion.unlink()
    for decisions in (layout.root / "decisions").iterdir():
        decisions.unlink()
    engine.run(phases, tmp_path / "logs")
    assert read_decisions(layout).equals(on_files)


def test_a_channel_needs_one_producer_before_one_receiver(tmp_path: Path) -> None:
    from pipelines.engines.beam import channels

    layout = DedupLayout(tmp_path, 1, 1)
    staged = tmp_path / "staged"
    phases = dedup_phases(tmp_path / "documents", layout, staged)
    assert channels(phases)["exact-keys"] == ("curate", "dedup-exact")
    with pytest.raises(ValueError, match="no single producer"):
        channels(phases[1:])
    with pytest.raises(ValueError, match="no phase receives"):
        channels(phases[:1])


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
