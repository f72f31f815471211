"""The pipeline config: YAML (or JSON) validated by pydantic.

Unknown keys and bad values are errors that name the key's path, e.g.
``stages[2].langauges: unknown key``. Secrets are never inline: a config names
environment variables instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.quality import QualityThresholds, ThresholdsKey, resolve_thresholds

FORMATS = ("jsonl", "parquet", "warc", "arc", "wet", "html", "text", "csv")
Format = Literal["jsonl", "parquet", "warc", "arc", "wet", "html", "text", "csv"]
PII_TYPES = ("email", "ip", "phone", "iban", "national_id")
PiiType = Literal["email", "ip", "phone", "iban", "national_id"]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- sources


# storage_options keys that would put a credential into a config file.
_SECRET_KEY = re.compile(
    r"(^|[_-])(key|auth|secret|token|password|passwd|credentials?|cookie|bearer)($|[_-])"
    r"|apikey|authori[sz]ation|secret|token|passw|credential",
    re.I,
)
_SECRET_ALLOWED = {"anon", "requester_pays", "use_ssl", "endpoint_url", "region_name"}


def _secret_keys(options: Any, prefix: str = "storage_options") -> list[str]:
    found: list[str] = []
    if isinstance(options, dict):
        for key, value in options.items():
            path = f"{prefix}.{key}"
            if str(key) not in _SECRET_ALLOWED and _SECRET_KEY.search(str(key)):
                found.append(path)
            found.extend(_secret_keys(value, path))
    return found


def _no_userinfo(url: str) -> str:
    """A URL must not carry credentials (``scheme://user:password@host``): they would reach ids and logs."""
    if re.match(r"^[a-z][a-z0-9+.-]*://[^/?#]*@", url, re.I):
        raise ValueError(
            "the URL carries credentials (user:password@); put them in environment variables instead"
        )
    return url


CleanUrl = Annotated[str, AfterValidator(_no_userinfo)]
# A source's short name: the first segment of its files' identities (letters, digits, ``._-``).
SourceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
HttpUrl = Annotated[str, Field(pattern=r"^https?://"), AfterValidator(_no_userinfo)]


class Retries(_Strict):
    """Bounded retries with exponential backoff on throttling (S3 SlowDown/503, HTTP 429/5xx)."""

    attempts: Annotated[int, Field(ge=1, le=20)] = 5  # tries in all, the first included
    initial_delay_s: Annotated[float, Field(ge=0, le=60)] = 0.5
    max_delay_s: Annotated[float, Field(ge=0, le=600)] = 30.0


class InputLimits(_Strict):
    """What one input record may cost a reader, enforced while streaming (MiB; fractions allowed).

    Broken input (a runaway line, a huge cell, a decompression bomb) is then quarantined as
    ``input:record_too_large`` instead of exhausting a task's memory.
    """

    max_record_mb: Annotated[float, Field(gt=0, le=65536)] = 32  # text field, WARC payload, cell, file
    max_line_mb: Annotated[float, Field(gt=0, le=65536)] = 64  # a JSONL / CSV line
    # Decompressed bytes spent getting past one oversized record; beyond it the file is read no further.
    max_decompressed_mb: Annotated[float, Field(gt=0, le=1_048_576)] = 256


class FilesSource(_Strict):
    """Files behind any fsspec URL or glob: local paths, ``s3://``, ``https://``, ``hf://``."""

    kind: Literal["files"]
    url: Annotated[CleanUrl, Field(min_length=1)]
    # A local source's files are named (in ids, ``source_uri`` and the manifest) by their path relative
    # to the source's root (the folder of ``url``, or the part of a glob before its first wildcard),
    # prefixed with ``name`` when it is set, so that moving or re-mounting the data changes nothing.
    # ``paths: absolute`` names them by their absolute ``file://`` URI instead (machine-specific).
    name: SourceName | None = None
    paths: Literal["relative", "absolute"] = "relative"
    format: Format | None = None  # default: from the file extension
    text_field: str = "text"  # jsonl / parquet / csv column holding the text
    id_field: str = "id"  # jsonl / parquet / csv column holding the record's own id (the ledger's source_id)
    license: str | None = None  # licence of records that do not carry their own
    # Non-secret fsspec options (endpoint_url, anon, client_kwargs.region_name, ...); credentials come
    # from the standard environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, HF_TOKEN, ...).
    storage_options: dict[str, Any] = {}
    retries: Retries = Retries()
    # Uncompressed JSONL and WARC/WET files larger than this are read by several tasks (byte ranges).
    split_mb: Annotated[float, Field(gt=0, le=1_048_576)] = 256
    limits: InputLimits = InputLimits()

    @field_validator("storage_options")
    @classmethod
    def _no_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        secrets = _secret_keys(options)
        if secrets:
            raise ValueError(
                f"{', '.join(secrets)} looks like a secret; never put credentials in a config: "
                "set them as environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                "AWS_SESSION_TOKEN, HF_TOKEN, ...)"
            )
        return options


CKAN_FORMATS = ("jsonl", "csv", "parquet", "html", "text", "warc")


class DcatSource(_Strict):
    """A CKAN / DCAT-AP catalogue: datasets found by ``package_search``, their resources read as files."""

    kind: Literal["dcat"]
    endpoint: HttpUrl  # CKAN base URL (``/api/3/action`` is added)
    query: str = "*:*"  # CKAN ``q`` (Solr syntax)
    fq: str | None = None  # CKAN filter query, e.g. ``res_format:CSV organization:destatis``
    formats: Annotated[list[Format], Field(min_length=1)] = list(CKAN_FORMATS)  # resource formats to read
    licenses: list[str] | None = None  # allowed dataset licence ids (or titles); None: any licence
    rows: Annotated[int, Field(ge=1, le=1000)] = 100  # page size of package_search
    max_datasets: Annotated[int, Field(ge=1)] | None = None
    text_field: str = "text"
    id_field: str = "id"
    retries: Retries = Retries()
    split_mb: Annotated[float, Field(gt=0, le=1_048_576)] = 256
    limits: InputLimits = InputLimits()


class DspUsage(_Strict):
    """What the run does with a data space's data; ODRL policies are judged against it (fail closed)."""

    actions: Annotated[list[str], Field(min_length=1)] = ["tdm:mine"]  # `use` in a policy covers any action
    purposes: Annotated[list[str], Field(min_length=1)] = ["ai-training", "tdm"]
    locations: Annotated[list[str], Field(min_length=1)] = ["DE", "EU", "EEA"]  # where processing happens


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class DspSource(_Strict):
    """Datasets of a Dataspace Protocol 2025-1 provider, each read under a contract agreement."""

    kind: Literal["dsp"]
    endpoint: HttpUrl  # where /.well-known/dspace-version lives
    dataset: str | None = None  # one dataset id from the provider's catalog ...
    datasets: Literal["all"] | Annotated[list[str], Field(min_length=1)] | None = None  # ... or several / all
    participant_id: str | None = None  # our participant id in the data space (the agreement's assignee)
    # Environment variable holding the `Authorization` value for the provider's endpoints (never inline).
    token_env: Annotated[str, Field(pattern=_ENV_NAME)] | None = None
    # Our callback endpoints: the local listener (host:port; port 0 = a free port) and, when the provider
    # reaches us through another address (a gateway, a public name), that address.
    callback_listen: Annotated[str, Field(pattern=r"^[^\s:]+:\d{1,5}$")] = "127.0.0.1:0"
    callback_address: Annotated[str, Field(pattern=r"^https?://")] | None = None
    usage: DspUsage = DspUsage()
    format: Format | None = None  # reader format of a data address that serves one file of unknown type
    text_field: str = "text"
    id_field: str = "id"
    license: str | None = None  # licence of records whose dataset names none
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0  # one HTTP request
    negotiation_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0  # waiting for the provider
    tls_verify: bool | str = True  # False only for a test peer; a path names a CA bundle
    retries: Retries = Retries(attempts=3, initial_delay_s=0.2, max_delay_s=5.0)
    split_mb: Annotated[float, Field(gt=0, le=1_048_576)] = 256
    limits: InputLimits = InputLimits()

    @model_validator(mode="after")
    def _one_selection(self) -> DspSource:
        if (self.dataset is None) == (self.datasets is None):
            raise ValueError("set exactly one of `dataset` (one id) or `datasets` (a list of ids, or `all`)")
        return self


Source = Annotated[FilesSource | DcatSource | DspSource, Field(discriminator="kind")]


# ---------------------------------------------------------------- stages


class _Stage(_Strict):
    enabled: bool = True


# Product tokens of crawlers whose robots.txt groups express an AI-training opt-out, each
# documented by its operator: OpenAI (GPTBot), Common Crawl (CCBot: the WARCs this layer reads),
# Google's AI-training control token (Google-Extended), Apple's (Applebot-Extended), Anthropic
# (ClaudeBot; anthropic-ai is its older token), Meta (meta-externalagent), ByteDance (Bytespider),
# and this project's own token (JAIF-Bot). The optout stage's ``agents`` when a config sets none.
OPTOUT_AGENTS = (
    "GPTBot",
    "CCBot",
    "Google-Extended",
    "Applebot-Extended",
    "ClaudeBot",
    "anthropic-ai",
    "meta-externalagent",
    "Bytespider",
    "JAIF-Bot",
)


class OptOutStage(_Stage):
    """TDM opt-outs (TDMRep, robots.txt, X-Robots-Tag noai); see ``pipelines/stages/optout.py``.

    Runs on the raw HTML, so it must come before ``extract``. Policies are offline files:
    ``<host>.json`` (tdmrep.json) in ``tdmrep_dir``, ``<host>.txt`` (robots.txt) in ``robots_dir``.
    """

    kind: Literal["optout"]
    agents: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None = None
    robots_dir: Annotated[str, Field(min_length=1)] | None = None  # folder or fsspec URL
    tdmrep_dir: Annotated[str, Field(min_length=1)] | None = None  # folder or fsspec URL
    x_robots_directives: list[Literal["noai", "noimageai"]] = ["noai", "noimageai"]


class ExtractStage(_Stage):
    kind: Literal["extract"]
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 5.0


class NormalizeStage(_Stage):
    kind: Literal["normalize"]


class LanguageStage(_Stage):
    kind: Literal["language"]
    languages: Annotated[list[LanguageCode], Field(min_length=1)] = ["de", "hu", "nl", "en"]
    thresholds: dict[LanguageCode, Probability] | None = None  # per-language minimum lang_score


class QualityStage(_Stage):
    """Per-language Gopher / C4 / FineWeb rules; ``thresholds`` sets any rule's value (schemas/quality.py).

    After validation ``thresholds`` is every language's complete table (``default`` for the others),
    so the config dump in a run's manifest records the values the run used.
    """

    kind: Literal["quality"]
    thresholds: Annotated[dict[ThresholdsKey, QualityThresholds], Field(validate_default=True)] = {}

    @field_validator("thresholds")
    @classmethod
    def _resolved(cls, thresholds: dict[str, QualityThresholds]) -> dict[str, QualityThresholds]:
        return resolve_thresholds(thresholds)


class PiiStage(_Stage):
    kind: Literal["pii"]
    types: Annotated[list[PiiType], Field(min_length=1)] = list(PII_TYPES)


class ExactDedupStage(_Stage):
    kind: Literal["exact_dedup"]


class Boilerplate(_Strict):
    """Site boilerplate set aside before near dedup; see ``pipelines/stages/boilerplate.py``."""

    enabled: bool = True
    min_contents: Annotated[int, Field(ge=2)] = 5  # a line on this many different contents of a site
    short_line_words: Annotated[int, Field(ge=0)] = 15  # ... or a line of at most this many words
    short_line_contents: Annotated[int, Field(ge=2)] = 2  # ... on this many
    min_words: Annotated[int, Field(ge=1)] = 15  # fewer words left without boilerplate: not signed


class NearDedupStage(_Stage):
    kind: Literal["near_dedup"]
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.75  # estimated Jaccard of word n-gram shingles
    ngram: Annotated[int, Field(ge=1, le=32)] = 5
    bands: Annotated[int, Field(ge=1, le=256)] = 14
    rows: Annotated[int, Field(ge=1, le=64)] = 8
    boilerplate: Boilerplate = Boilerplate()


Stage = Annotated[
    OptOutStage
    | ExtractStage
    | NormalizeStage
    | LanguageStage
    | QualityStage
    | PiiStage
    | ExactDedupStage
    | NearDedupStage,
    Field(discriminator="kind"),
]
DEDUP_KINDS = ("exact_dedup", "near_dedup")


# ---------------------------------------------------------------- outputs, engine


class ShardOutput(_Strict):
    shard_max_mb: Annotated[int, Field(ge=1, le=65536)] = 256


class Outputs(_Strict):
    parquet: ShardOutput = ShardOutput()
    webdataset: ShardOutput | None = None


# Values that end up in an sbatch script: no whitespace, quotes or shell metacharacters.
SlurmName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.,:+-]+$", max_length=128)]
SlurmTime = Annotated[str, Field(pattern=r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$|^\d+-\d{1,2}$")]
SlurmMemory = Annotated[str, Field(pattern=r"^\d+[KMGT]?$")]
# An extra sbatch option, e.g. ``--constraint=gpu`` or ``--exclusive``: a long option, a plain value.
SbatchOption = Annotated[str, Field(pattern=r"^--[a-z][a-z0-9-]*(=[A-Za-z0-9_.,:+=/@%-]+)?$", max_length=256)]
_SBATCH_OWN = ("array", "dependency", "output", "error", "job-name", "wrap")


class SlurmSettings(_Strict):
    """How the Slurm engine submits each phase (``sbatch`` job arrays)."""

    partition: SlurmName | None = None  # the cluster's default partition when left out
    account: SlurmName | None = None
    qos: SlurmName | None = None
    time: SlurmTime = "04:00:00"  # per array task
    cpus_per_task: Annotated[int, Field(ge=1, le=1024)] = 1
    mem_per_cpu: SlurmMemory | None = None  # e.g. 4G; the cluster's default when left out
    max_array_size: Annotated[int, Field(ge=1, le=4_000_000)] = 1001  # the cluster's MaxArraySize
    sbatch: list[SbatchOption] = []  # extra options, one per entry
    # Shell lines run before each task (module loads, venv activation); default: activate the
    # virtual environment of the submitting Python. One command per entry, no line breaks.
    setup: list[Annotated[str, Field(pattern=r"^[^\n\r\x00]+$", max_length=1024)]] | None = None
    poll_s: Annotated[float, Field(gt=0, le=600)] = 5.0  # how often a waiting CLI checks the jobs

    @field_validator("sbatch")
    @classmethod
    def _not_ours(cls, options: list[str]) -> list[str]:
        for option in options:
            name = option[2:].split("=", 1)[0]
            if name in _SBATCH_OWN:
                raise ValueError(f"{option!r}: the engine sets --{name} itself")
        return options


# A Beam pipeline option: ``--name=value`` or a bare ``--flag``, no line breaks.
BeamOption = Annotated[str, Field(pattern=r"^--[A-Za-z][A-Za-z0-9_]*(=[^\n\r\x00]*)?$", max_length=2048)]


class BeamSettings(_Strict):
    """Which Beam runner runs the phases, and the pipeline options passed through to it."""

    runner: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.]*$")] = "DirectRunner"
    options: list[BeamOption] = []  # e.g. --flink_master=host:8081, --environment_type=LOOPBACK

    @field_validator("options")
    @classmethod
    def _no_secrets(cls, options: list[str]) -> list[str]:
        for option in options:
            name = option[2:].split("=", 1)[0]
            if name == "runner":
                raise ValueError(f"{option!r}: set `runner` (or --beam-runner) instead")
            if _SECRET_KEY.search(name):
                raise ValueError(
                    f"--{name} looks like a credential (value not shown); pass it through the runner's "
                    "environment instead"
                )
        return options


class EngineConfig(_Strict):
    kind: Literal["local", "slurm", "beam"] = "local"
    workers: Annotated[int, Field(ge=1, le=4096)] = 2  # local: processes; slurm: array tasks at once
    slurm: SlurmSettings = SlurmSettings()
    beam: BeamSettings = BeamSettings()


# ---------------------------------------------------------------- gate, documentation, publishing


class ValidationConfig(_Strict):
    """The Great Expectations gate over the data shards and the ledger, after the run is written."""

    enabled: bool = True
    fail_run: bool = True  # a failing suite fails the run (exit 1) and blocks publishing
    min_chars: Annotated[int, Field(ge=1)] = 1  # bounds on the length of a kept document's text
    max_chars: Annotated[int, Field(ge=1)] = 10_000_000
    data_docs: bool = True  # GX's HTML Data Docs beside the JSON results


class About(_Strict):
    """What the run cannot know by itself: for the dataset card and the EU AI Act training-content summary."""

    title: str | None = None
    description: str | None = None
    license: str | None = None  # the curated dataset's licence (SPDX id); default: from the sources
    provider: str | None = None  # provider of the general-purpose AI model trained on it
    model: str | None = None  # the model (name and version) the summary is for
    contact: str | None = None


class LineageConfig(_Strict):
    """OpenLineage run events: always written to OUT/lineage/, also sent when `url` is set."""

    namespace: str = "jaif"
    url: HttpUrl | None = None  # an OpenLineage HTTP endpoint
    api_key_env: Annotated[str, Field(pattern=_ENV_NAME)] | None = None  # env var with its API key


class HubPublish(_Strict):
    """Publish to a Hugging Face Hub dataset repository (one commit; the token from the environment)."""

    kind: Literal["hub"]
    repo_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    token_env: Annotated[str, Field(pattern=_ENV_NAME)] = "HF_TOKEN"
    private: bool = True
    revision: str | None = None  # branch to commit to (created when missing); default: the main branch
    endpoint: HttpUrl | None = None  # a Hub other than huggingface.co
    include_ledger: bool = False


class FsspecPublish(_Strict):
    """Publish to any fsspec URL (``s3://bucket/prefix``, a folder), atomically: a marker is written last."""

    kind: Literal["fsspec"]
    url: Annotated[CleanUrl, Field(min_length=1)]
    storage_options: dict[str, Any] = {}
    include_ledger: bool = True

    @field_validator("storage_options")
    @classmethod
    def _no_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        return FilesSource._no_secrets(options)


Publish = Annotated[HubPublish | FsspecPublish, Field(discriminator="kind")]


class PipelineConfig(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=128)]
    sources: Annotated[list[Source], Field(min_length=1)]
    stages: list[Stage] = []
    outputs: Outputs = Outputs()
    engine: EngineConfig = EngineConfig()
    validation: ValidationConfig = ValidationConfig()
    about: About = About()
    lineage: LineageConfig = LineageConfig()
    publish: Publish | None = None

    @field_validator("stages")
    @classmethod
    def _stages_in_order(cls, stages: list[Any]) -> list[Any]:
        kinds = [s.kind for s in stages]
        for kind in set(kinds):
            if kinds.count(kind) > 1:
                raise ValueError(f"stage {kind!r} appears {kinds.count(kind)} times; give each stage once")
        first_dedup = next((i for i, k in enumerate(kinds) if k in DEDUP_KINDS), len(kinds))
        late = [k for k in kinds[first_dedup:] if k not in DEDUP_KINDS]
        if late:
            raise ValueError(
                f"stage {late[0]!r} comes after a dedup stage; "
                "dedup runs over the whole run and must come last"
            )
        return stages

    @field_validator("stages")
    @classmethod
    def _optout_before_extract(cls, stages: list[Any]) -> list[Any]:
        kinds = [s.kind for s in stages]
        if "optout" in kinds and "extract" in kinds and kinds.index("optout") > kinds.index("extract"):
            raise ValueError(
                f"stages[{kinds.index('optout')}] 'optout' comes after stages[{kinds.index('extract')}] "
                "'extract'; opt-out checks read the raw HTML (meta tags) and must run before extraction"
            )
        return stages

    @model_validator(mode="after")
    def _language_thresholds_known(self) -> PipelineConfig:
        for stage in self.stages:
            if isinstance(stage, LanguageStage) and stage.thresholds:
                unknown = sorted(set(stage.thresholds) - set(stage.languages))
                if unknown:
                    raise ValueError(f"language thresholds for {unknown} which are not in `languages`")
        return self

    def active_stages(self) -> list[Any]:
        return [s for s in self.stages if s.enabled]

    def stage(self, kind: str) -> Any | None:
        return next((s for s in self.active_stages() if s.kind == kind), None)


# ---------------------------------------------------------------- loading


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """``('stages', 2, 'language', 'langauges')`` -> ``stages[2].langauges``.

    pydantic puts the discriminator value of a tagged union into the location;
    it is dropped by walking the input alongside the location.
    """
    path = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue  # the tagged-union label, not a key
        path += f".{part}" if path else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return path or "(top level)"


def _describe(error: dict[str, Any], data: Any) -> str:
    path = _key_path(tuple(error["loc"]), data)
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key"
    if error["type"] == "union_tag_not_found":
        return f"{path}.kind: required"
    if error["type"] == "union_tag_invalid":
        return f"{path}.kind: {error['msg']}"
    return f"{path}: {error['msg']}"


def parse_model(model: type[M], data: Any, origin: str) -> M:
    """Validate a loaded mapping as ``model``; raise :class:`ConfigError` naming every bad key path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e, data) for e in exc.errors())
        raise ConfigError(f"{origin}: {problems}") from None


def read_yaml(path: Path, what: str = "config") -> Any:
    """The content of a YAML (or JSON) file; :class:`ConfigError` when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None


def parse_config(data: Any, origin: str = "config") -> PipelineConfig:
    """Validate an already-loaded mapping; raise :class:`ConfigError` naming every bad key path."""
    return parse_model(PipelineConfig, data, origin)


def load_config(path: str | Path) -> PipelineConfig:
    """Read a YAML/JSON config file."""
    return parse_config(read_yaml(Path(path)), origin=str(path))
