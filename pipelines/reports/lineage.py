"""OpenLineage run events of a curation run: what it read, what it wrote, and how it ended.

A run is one OpenLineage job (namespace ``lineage.namespace`` from the config, name = the config's
``name``) and one run id, shared by its START event and its COMPLETE or FAIL event even when they are
sent by different processes (the driver, a Slurm task): :func:`run_id_for` derives it from the output
folder and the run's start time alone. Inputs are the run's sources: each file read (``file`` + path,
``s3://bucket`` + key, ``https://host`` + path), and each data-space dataset (its provider's endpoint +
dataset id), from ``manifest.json``; a START event, sent before the manifest exists, names the config's
sources instead. Outputs are ``OUT/data`` and ``OUT/ledger`` (and ``OUT/webdataset`` when configured)
with their Arrow schemas and, once the manifest exists, their row counts and sizes.

Every event is written to ``OUT/lineage/NNN-<eventType>.json`` so that an auditor has the run's
lineage without a lineage server, and is sent with the client's HTTP transport when ``lineage.url``
is set. Lineage describes a run; it never decides one: a server that cannot be reached costs a warning.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
from openlineage.client import OpenLineageClient
from openlineage.client.constants import __version__ as OPENLINEAGE_CLIENT_VERSION
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    datasource_dataset,
    documentation_job,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.uuid import generate_static_uuid

from connectors.dsp.consumer import segment
from schemas.config import DcatSource, DspSource, FilesSource, LineageConfig, PipelineConfig
from schemas.records import DATA_SCHEMA, LEDGER_SCHEMA

log = logging.getLogger("jaif.lineage")

PRODUCER = "https://github.com/jaif/dataset-layer"  # names this project in every event and facet
LINEAGE_DIR = "lineage"
MANIFEST = "manifest.json"
SEND_TIMEOUT_S = 10.0  # one HTTP request to the lineage server
# Few, short retries: a lineage server that is down must not hold up the end of a run.
SEND_RETRY: dict[str, Any] = {
    "total": 2,
    "connect": 2,
    "read": 2,
    "backoff_factor": 0.5,
    "status_forcelist": [500, 502, 503, 504],
    "allowed_methods": ["POST"],
}
# The output folders as lineage datasets; WebDataset tar shards have no Arrow schema.
OUTPUT_SCHEMAS: dict[str, pa.Schema | None] = {
    "data": DATA_SCHEMA,
    "ledger": LEDGER_SCHEMA,
    "webdataset": None,
}


def run_id_for(out: Path, started_unix: float) -> str:
    """The run id of the run started at ``started_unix`` into ``out``: a UUIDv7, the same in every process."""
    instant = datetime.fromtimestamp(started_unix, UTC)
    return str(generate_static_uuid(instant, str(out.resolve()).encode()))


def lineage_event(
    event_type: str,
    out: Path,
    config: PipelineConfig,
    run_id: str,
    error: str | None = None,
    folder: Path | None = None,
) -> RunEvent:
    """The ``START``, ``COMPLETE`` or ``FAIL`` event of the run ``run_id`` of ``config`` into ``out``.

    ``error`` is the FAIL event's ``errorMessage`` facet. Inputs and output statistics come from
    the run's ``manifest.json`` (in ``folder``, where the run's files are until they are switched into
    ``out``) when the event is not START and the manifest exists.
    """
    state = RunState(event_type)
    manifest = None if state is RunState.START else _read_manifest(folder or out)
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id, facets=_run_facets(state, config, error)),
        job=Job(namespace=config.lineage.namespace, name=config.name, facets=_job_facets(config)),
        inputs=_inputs(config, manifest),
        outputs=_outputs(out.resolve(), config, manifest),
        producer=PRODUCER,
    )


def emit_lineage(
    event_type: str,
    out: Path,
    config: PipelineConfig,
    run_id: str,
    error: str | None = None,
    folder: Path | None = None,
) -> Path:
    """Write the event to ``lineage/NNN-<eventType>.json`` of the run's files (and send it when
    configured); its path. ``folder`` holds the run's files while they are not yet in ``out``."""
    folder = folder or out
    event = lineage_event(event_type, out, config, run_id, error, folder)
    path = write_event(folder / LINEAGE_DIR, event)
    if config.lineage.url:
        send_event(event, config.lineage)
    return path


def write_event(folder: Path, event: RunEvent) -> Path:
    """Write ``event`` as the next numbered file of ``folder``; never overwrites an earlier event."""
    folder.mkdir(parents=True, exist_ok=True)
    text = Serde.to_json(event, indent=2) + "\n"
    number = 1 + max((_event_number(p) for p in folder.glob("*.json")), default=0)
    while True:
        path = folder / f"{number:03d}-{event.eventType.value}.json"
        try:
            with path.open("x", encoding="utf-8") as f:
                f.write(text)
            return path
        except FileExistsError:  # another process wrote an event meanwhile
            number += 1


def send_event(event: RunEvent, lineage: LineageConfig) -> None:
    """POST ``event`` to ``lineage.url`` with the client's HTTP transport; a failure is only a warning."""
    assert lineage.url is not None
    auth: TokenProvider = TokenProvider({})
    if lineage.api_key_env:
        api_key = os.environ.get(lineage.api_key_env)
        if not api_key:
            log.warning(
                "lineage: %s is not set; the %s event is not sent to %s",
                lineage.api_key_env,
                event.eventType.value,
                lineage.url,
            )
            return
        auth = ApiKeyTokenProvider({"apiKey": api_key})
    transport = HttpTransport(
        HttpConfig(url=lineage.url, timeout=SEND_TIMEOUT_S, auth=auth, retry=SEND_RETRY)
    )
    try:
        OpenLineageClient(transport=transport).emit(event)
    except Exception as exc:  # any failure to send: the run's outcome does not depend on lineage
        log.warning("lineage: sending the %s event to %s failed: %s", event.eventType.value, lineage.url, exc)
    finally:
        transport.close()


# ---------------------------------------------------------------- naming


def dataset_address(uri: str) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a file or object: ``file`` + path, ``s3://bucket`` + key, ...

    A path without a scheme is a local path, made absolute against the working directory (as the
    ``files`` connector reads it). Credentials in a URL's authority (``user:password@``) are dropped.
    """
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file", str(Path(parts.path if parts.scheme else uri).absolute())
    name = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}", name or "/"


# ---------------------------------------------------------------- inputs


def _inputs(config: PipelineConfig, manifest: dict[str, Any] | None) -> list[InputDataset]:
    if manifest is None:
        return [dataset for source in config.sources for dataset in _planned_inputs(source)]
    run = manifest["run"]
    read = [d for d in run.get("datasets", []) if d.get("decision") == "allow"]
    space_datasets = [_space_input(config, d) for d in read if _is_dsp(config, d)]
    markers = [f"/catalog/datasets/{segment(str(d['dataset_id']))}" for d in read if _is_dsp(config, d)]
    files = [uri for uri in run.get("inputs", []) if not any(_under(uri, m) for m in markers)]
    return [_read_input(uri) for uri in files] + space_datasets


def _planned_inputs(source: FilesSource | DcatSource | DspSource) -> list[InputDataset]:
    """What a source will be read as, before it is planned: its URL pattern, query or dataset ids."""
    if isinstance(source, FilesSource):
        return [_file_input(source.url)]
    endpoint = source.endpoint.rstrip("/")
    if isinstance(source, DcatSource):
        query = f"package_search?q={source.query}" + (f"&fq={source.fq}" if source.fq else "")
        return [InputDataset(namespace=endpoint, name=query, facets=_datasource(endpoint))]
    ids = [source.dataset] if source.dataset else source.datasets
    names = ["*"] if ids == "all" else [str(i) for i in ids or []]  # "*": the provider's whole catalog
    return [InputDataset(namespace=endpoint, name=name, facets=_datasource(endpoint)) for name in names]


def _file_input(uri: str) -> InputDataset:
    namespace, name = dataset_address(uri)
    return InputDataset(namespace=namespace, name=name)


def _read_input(identity: str) -> InputDataset:
    """A file the run read, named as the manifest names it: a local source's files by their path
    relative to the source's root (so the event names no machine's mount point), others by URL."""
    if "://" not in identity:
        return InputDataset(namespace="file", name=identity)
    return _file_input(identity)


def _space_input(config: PipelineConfig, report: dict[str, Any]) -> InputDataset:
    """A data-space dataset read under a contract: its provider's endpoint and its id."""
    endpoint = config.sources[report["source_index"]].endpoint.rstrip("/")
    statistics: dict[str, InputDatasetFacet] = {
        "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=report.get("documents_in"), fileCount=report.get("files"), producer=PRODUCER
        )
    }
    return InputDataset(
        namespace=endpoint,
        name=str(report["dataset_id"]),
        facets=_datasource(endpoint),
        inputFacets=statistics,
    )


def _is_dsp(config: PipelineConfig, report: dict[str, Any]) -> bool:
    index = report.get("source_index")
    return isinstance(index, int) and 0 <= index < len(config.sources) and config.sources[index].kind == "dsp"


def _under(uri: str, marker: str) -> bool:
    """Whether ``uri`` is a file of the data-space dataset whose catalog address ends in ``marker``."""
    return uri.endswith(marker) or f"{marker}/" in uri


def _datasource(endpoint: str) -> dict[str, DatasetFacet]:
    facet = datasource_dataset.DatasourceDatasetFacet(name=endpoint, uri=endpoint, producer=PRODUCER)
    return {"dataSource": facet}


# ---------------------------------------------------------------- outputs


def _outputs(out: Path, config: PipelineConfig, manifest: dict[str, Any] | None) -> list[OutputDataset]:
    kinds = ["data", "ledger"] + (["webdataset"] if config.outputs.webdataset else [])
    return [_output(out, kind, manifest) for kind in kinds]


def _output(out: Path, kind: str, manifest: dict[str, Any] | None) -> OutputDataset:
    namespace, name = dataset_address(str(out / kind))
    schema = OUTPUT_SCHEMAS[kind]
    facets: dict[str, DatasetFacet] = {"schema": _schema_facet(schema)} if schema is not None else {}
    statistics: dict[str, OutputDatasetFacet] = {}
    if manifest is not None:
        files = [f for f in manifest.get("files", []) if f["path"].startswith(f"{kind}/")]
        statistics["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=sum(f.get("rows", 0) for f in files),
            size=sum(f["bytes"] for f in files),
            fileCount=len(files),
            producer=PRODUCER,
        )
    return OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=statistics)


def _schema_facet(schema: pa.Schema) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(fields=[_schema_field(f) for f in schema], producer=PRODUCER)


def _schema_field(field: pa.Field) -> schema_dataset.SchemaDatasetFacetFields:
    nested = [_schema_field(f) for f in field.type] if pa.types.is_struct(field.type) else []
    type_name = "struct" if nested else str(field.type)
    return schema_dataset.SchemaDatasetFacetFields(name=field.name, type=type_name, fields=nested or None)


# ---------------------------------------------------------------- run and job


def _run_facets(state: RunState, config: PipelineConfig, error: str | None) -> dict[str, RunFacet]:
    facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=_project_version(),
            name=f"jaif-{config.engine.kind}",
            openlineageAdapterVersion=OPENLINEAGE_CLIENT_VERSION,
            producer=PRODUCER,
        )
    }
    if state is RunState.FAIL:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error or "the run failed", programmingLanguage="python", producer=PRODUCER
        )
    return facets


def _job_facets(config: PipelineConfig) -> dict[str, JobFacet]:
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="JAIF", jobType="JOB", producer=PRODUCER
        )
    }
    if config.about.description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=config.about.description, producer=PRODUCER
        )
    return facets


def _project_version() -> str:
    try:
        return importlib_metadata.version("jaif-datasets")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def _read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _event_number(path: Path) -> int:
    prefix = path.name.split("-", 1)[0]
    return int(prefix) if prefix.isdigit() else 0
