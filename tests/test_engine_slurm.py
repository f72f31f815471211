"""The Slurm engine against a real single-node Slurm (``scripts/local-slurm.sh start``).

CI sets ``JAIF_REQUIRE_SLURM=1`` after starting Slurm, so there a missing Slurm fails instead of
skipping.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from pipelines.engines.base import Phase, PhaseFailed
from pipelines.engines.slurm import SlurmEngine
from pipelines.runner import RunError, run_pipeline, submit_pipeline
from schemas.config import EngineConfig, parse_config
from tests.conftest import output_digests, sample_config_data
from tests.engine_steps import FailingStep

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "local-slurm.sh"


@pytest.fixture(scope="module")
def slurm() -> None:
    started = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=900, check=False)
    if started.returncode != 0:
        message = f"no local Slurm: {started.stderr.strip()[-500:]}"
        if os.environ.get("JAIF_REQUIRE_SLURM"):
            pytest.fail(message)
        pytest.skip(message)


def sample_config(tmp_path: Path, **slurm: object):
    """configs/sample.yaml (absolute paths) on Slurm with the given settings."""
    return parse_config(sample_config_data(kind="slurm", workers=2, slurm={"poll_s": 0.5, **slurm}))


@pytest.fixture(scope="module")
def local_sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    config = sample_config(out.parent)
    run_pipeline(config, out, engine_kind="local")
    return out


def test_sample_on_slurm_writes_the_local_bytes(slurm, local_sample: Path, tmp_path: Path) -> None:
    config = sample_config(tmp_path, max_array_size=2, sbatch=["--comment=jaif-test"])
    result = run_pipeline(config, tmp_path / "out")
    out = result.output
    assert output_digests(out) == output_digests(local_sample)
    assert result.summary.inputs == 327
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["engine"] == "slurm"
    script = (out / "logs" / "curate" / "launch_script.slurm").read_text()
    assert "#SBATCH --comment=jaif-test" in script and "#SBATCH --array=0-1%2" in script
    # 3 input units with arrays of at most 2 tasks: curate ran as two arrays (the second one's
    # surplus array task has no rank to run), every task completed
    logs = sorted(p.name for p in (out / "logs" / "curate" / "slurm").glob("*.out"))
    assert len({name.split("_")[0] for name in logs}) == 2
    assert len(list((out / "logs" / "curate" / "completions").iterdir())) == 3
    assert not (out / ".work").exists()


def duplicate_corpus(folder: Path, files: int = 6, per_file: int = 150) -> Path:
    """Random-vocabulary documents in JSONL files, with exact (case, spacing) and near (a few words
    changed) copies of earlier documents planted in other files."""
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(2000)]
    originals: list[list[str]] = []
    folder.mkdir(parents=True)
    for f in range(files):
        rows = []
        for _ in range(per_file):
            if originals and rng.random() < 0.15:
                words = list(rng.choice(originals))
                if rng.random() < 0.5:
                    text = "  ".join(words).upper()
                else:
                    for _ in range(rng.randint(1, 3)):
                        words[rng.randrange(len(words))] = rng.choice(vocabulary)
                    text = " ".join(words)
            else:
                words = [rng.choice(vocabulary) for _ in range(rng.randint(40, 120))]
                originals.append(words)
                text = " ".join(words)
            rows.append(json.dumps({"text": text}))
        (folder / f"part-{f}.jsonl").write_text("\n".join(rows) + "\n")
    return folder


def test_generated_corpus_is_the_same_on_every_engine_and_worker_count(slurm, tmp_path: Path) -> None:
    corpus = duplicate_corpus(tmp_path / "corpus")
    data = {
        "name": "engines",
        "sources": [{"kind": "files", "url": str(corpus / "*.jsonl")}],
        "stages": [{"kind": "normalize"}, {"kind": "exact_dedup"}, {"kind": "near_dedup"}],
        "outputs": {"parquet": {"shard_max_mb": 1}, "webdataset": {"shard_max_mb": 1}},
        "engine": {"kind": "slurm", "slurm": {"poll_s": 0.5}},
    }
    config = parse_config(data)
    runs = {
        "local-1": run_pipeline(config, tmp_path / "local-1", workers=1, engine_kind="local"),
        "local-3": run_pipeline(config, tmp_path / "local-3", workers=3, engine_kind="local"),
        "slurm-2": run_pipeline(config, tmp_path / "slurm-2", workers=2),
    }
    if importlib.util.find_spec("apache_beam") is not None:  # the `beam` extra (make install has it)
        runs["beam-2"] = run_pipeline(config, tmp_path / "beam-2", workers=2, engine_kind="beam")
    reference = output_digests(runs["local-1"].output)
    assert runs["local-1"].summary.by_status["duplicate"] > 80
    for name, result in runs.items():
        assert output_digests(result.output) == reference, name


def test_shared_chrome_corpus_is_the_same_on_slurm(slurm, tmp_path: Path) -> None:
    """Site chrome: the boilerplate phases (dedup-lines, dedup-sign) as job arrays write the local bytes."""
    from tests.chrome_corpus import write_chrome_site
    from tests.test_dedup_boilerplate import site_config

    write_chrome_site(tmp_path / "in", files=3)
    data = {**site_config(tmp_path / "in"), "engine": {"kind": "slurm", "slurm": {"poll_s": 0.5}}}
    config = parse_config(data)
    local = run_pipeline(config, tmp_path / "local", workers=1, engine_kind="local")
    on_slurm = run_pipeline(config, tmp_path / "slurm", workers=2)
    assert output_digests(on_slurm.output) == output_digests(local.output)
    assert local.summary.by_status["duplicate"] >= 12  # two reshuffled pages of each short article


def test_relaunch_submits_only_unfinished_tasks(slurm, local_sample: Path, tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    out = tmp_path / "out"
    submitted = submit_pipeline(config, out)
    assert set(submitted.jobs) >= {"curate", "write", "finalize"} and all(submitted.jobs.values())
    assert submit_pipeline(config, out).jobs == submitted.jobs  # still queued: attached, not resubmitted
    deadline = time.monotonic() + 300
    staged_logs = out / ".work" / "outputs" / "logs"  # the unfinished run's logs
    while len(list((staged_logs / "curate" / "completions").glob("*"))) < 3:
        assert time.monotonic() < deadline, "the curate phase did not finish"
        time.sleep(0.5)
    SlurmEngine.cancel(submitted.jobs)  # the run dies after curate
    assert not (out / "manifest.json").exists()

    again = submit_pipeline(config, out)
    assert again.jobs["curate"] is None  # every curate task had completed: nothing submitted
    assert again.jobs["write"] is not None
    SlurmEngine.cancel(again.jobs)
    result = run_pipeline(config, out)  # the same command, waiting this time
    assert json.loads((out / "manifest.json").read_text())["run"]["resumed"] is True
    assert output_digests(result.output) == output_digests(local_sample)
    assert len(list((out / "logs" / "curate" / "slurm").glob("*.out"))) == 3  # curate ran once


def test_failed_task_fails_the_run_and_cancels_what_depends_on_it(slurm, tmp_path: Path) -> None:
    settings = EngineConfig(kind="slurm", slurm={"poll_s": 0.5})
    engine = SlurmEngine(workers=2, settings=settings)
    phases = [
        Phase("first", "first", [FailingStep()], tasks=2),
        Phase("second", "second", [FailingStep()], tasks=1, depends=("first",)),
    ]
    os.environ["PYTHONPATH"] = str(REPO)  # the job imports this test module (sbatch exports the environment)
    try:
        with pytest.raises(PhaseFailed, match=r"first phase failed: 1 of 2 tasks did not complete") as failed:
            engine.run(phases, tmp_path / "logs")
    finally:
        os.environ.pop("PYTHONPATH")
    assert failed.value.phase == "first"
    queue = subprocess.run(["squeue", "--noheader", "--name=jaif-second"], capture_output=True, text=True)
    assert queue.stdout.strip() == ""  # the dependent job was cancelled, not left pending forever
    assert "task 1 breaks" in "".join(p.read_text() for p in (tmp_path / "logs" / "first").rglob("*.out"))


def test_detach_needs_a_batch_engine(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    with pytest.raises(RunError, match="cannot detach"):
        submit_pipeline(config, tmp_path / "out", engine_kind="local")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"partition": "batch\n#SBATCH --uid=0"}, "engine.slurm.partition"),
        ({"account": "a;touch /tmp/x"}, "engine.slurm.account"),
        ({"sbatch": ["--comment=$(id)"]}, "engine.slurm.sbatch[0]"),
        ({"sbatch": ["--dependency=afterok:1"]}, "sets --dependency itself"),
        ({"setup": ["module load Python\nrm -rf /"]}, "engine.slurm.setup[0]"),
        ({"time": "1 hour"}, "engine.slurm.time"),
        ({"mem_per_cpu": "4 GB"}, "engine.slurm.mem_per_cpu"),
    ],
)
def test_sbatch_settings_cannot_carry_shell_syntax(settings: dict, message: str) -> None:
    from schemas.config import ConfigError

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(
            {
                "name": "x",
                "sources": [{"kind": "files", "url": "a"}],
                "engine": {"kind": "slurm", "slurm": settings},
            }
        )


def test_dsp_source_on_slurm_reads_with_the_transfer_token(slurm, tmp_path: Path) -> None:
    """Slurm tasks read a DSP data address with the token the driver holds: it reaches them through the
    job environment, never through a file."""
    from connectors.dsp.provider import DspProvider
    from schemas.provider import parse_provider_config

    dataset = "urn:jaif:test:news"
    provider_config = {
        "participant_id": "urn:example:test-provider",
        "datasets": [
            {
                "id": dataset,
                "url": str(REPO / "samples" / "corpus" / "news.jsonl.gz"),
                "policy": {"permission": [{"action": "use"}]},
            }
        ],
    }
    with DspProvider(parse_provider_config(provider_config)) as provider:
        config = parse_config(
            {
                "name": "dsp-slurm",
                "sources": [{"kind": "dsp", "endpoint": provider.url, "dataset": dataset}],
                "stages": [
                    {"kind": "normalize"},
                    {"kind": "language", "languages": ["de", "hu", "nl", "en"]},
                ],
                "engine": {"kind": "slurm", "workers": 2, "slurm": {"poll_s": 0.5}},
            }
        )
        result = run_pipeline(config, tmp_path / "out")
    assert result.summary.inputs > 0
    assert result.summary.reasons.get("input:unreadable_file", 0) == 0
    assert result.summary.reasons.get("input:no_access", 0) == 0
    [entry] = result.summary.datasets
    assert entry["documents_in"] == result.summary.inputs and entry["agreement_id"]
    for path in (tmp_path / "out" / "logs").rglob("*"):
        if path.is_file():
            assert "Bearer " not in path.read_text(errors="replace"), path
