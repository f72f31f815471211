"""Airflow DAGs for pipeline configs: one DAG per config, scheduling the run's phases.

```
 plan ─► curate ─► dedup ─► write ─► finalize ─► validate ─► publish ─► summary
```
Each task calls the ``pipelines`` API and does no processing of its own: ``plan`` lists the
inputs and prepares the output folder (a new run, or the unfinished run of the same plan); every
later task re-plans the same run (failing if the inputs or the config changed since ``plan``) and
runs its share of the phases with the config's engine, so ``engine: {kind: slurm}`` hands the
heavy phases to Slurm, each Airflow task waiting for its job arrays. A retried task skips the
phase tasks that completed. The output folder travels in XCom; ``summary`` returns the run's
counts (the manifest's ``counts``). Relative local source paths in a config are resolved against
``base_dir`` (a scheduler's working directory is not the project's).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import dag, task

from pipelines.runner import complete_run, plan_run, read_summary, run_phases
from schemas.config import PipelineConfig, load_config, parse_config

# Which Airflow task runs which phases of a run (pipelines.graph names them).
TASK_PHASES = {
    "curate": lambda name: name == "curate",
    "dedup": lambda name: name.startswith("dedup-"),
    "write": lambda name: name == "write",
    "finalize": lambda name: name in ("finalize", "document"),
    "validate": lambda name: name == "validate",
}


def resolved_config(config_path: Path, base_dir: Path) -> PipelineConfig:
    """The config with relative local ``files`` URLs made absolute under ``base_dir``."""
    data = load_config(config_path).model_dump(mode="json", exclude_unset=True)
    for source in data["sources"]:
        url = source.get("url")
        if source.get("kind") == "files" and url and "://" not in url and not Path(url).is_absolute():
            source["url"] = str(base_dir / url)
    return parse_config(data, origin=str(config_path))


def pipeline_dag(
    config_path: Path,
    output: Path,
    base_dir: Path,
    schedule: str | None = None,
    retries: int = 2,
    retry_delay: timedelta = timedelta(minutes=2),
) -> Any:
    """The DAG ``jaif_<config name>`` that runs ``config_path`` into ``output``."""
    config = resolved_config(config_path, base_dir)  # a broken config is an import error of the DAG file

    @dag(
        dag_id=f"jaif_{config.name}",
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,  # runs of one config share its output folder
        tags=["jaif", f"engine:{config.engine.kind}"],
        default_args={"retries": retries, "retry_delay": retry_delay},
        doc_md=f"Curates `{config_path}` into `{output}` (engine: {config.engine.kind}).",
    )
    def run_config() -> None:
        @task
        def plan() -> str:
            run = plan_run(resolved_config(config_path, base_dir), output)
            run.close(True)
            return str(run.output)

        def phases_task(name: str):
            @task(task_id=name)
            def run_share(out: str) -> str:
                run = plan_run(resolved_config(config_path, base_dir), Path(out), fresh=False)
                names = [phase for phase in run.phase_names() if TASK_PHASES[name](phase)]
                succeeded = False
                try:
                    if names:
                        run_phases(run, names)
                    succeeded = True
                finally:
                    run.close(succeeded)
                return out

            return run_share

        @task
        def publish(out: str) -> str:
            """Publish the validated run where the config says (if anywhere), then close it."""
            run = plan_run(resolved_config(config_path, base_dir), Path(out), fresh=False)
            run.close(True)
            complete_run(run)
            return out

        @task
        def summary(out: str) -> dict[str, Any]:
            return read_summary(Path(out)).to_json()

        out = plan()
        for name in TASK_PHASES:
            out = phases_task(name)(out)
        summary(publish(out))

    return run_config()


def config_dags(config_dir: Path, output_root: Path, base_dir: Path) -> dict[str, Any]:
    """One DAG per ``*.yaml`` / ``*.yml`` / ``*.json`` config in ``config_dir``, by DAG id."""
    dags = {}
    for path in sorted(p for p in config_dir.iterdir() if p.suffix in (".yaml", ".yml", ".json")):
        config = load_config(path)
        dags[f"jaif_{config.name}"] = pipeline_dag(path, output_root / config.name, base_dir)
    return dags
