"""Publishing a real finished run: to a Hub served on loopback, to moto S3, to a local folder and to memory.

The run is the sample curated once per module. The Hub is ``tests/hub_server.py`` answering the real
requests of ``huggingface_hub``; S3 is a ``moto_server`` process on a free loopback port.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from s3_server import moto_server, point_aws_at

from connectors.retry import RetryPolicy
from pipelines.publish import (
    PublishError,
    load_finished_run,
    publish_run,
    published_files,
)
from pipelines.publish.hub import HubPublisher, redact
from pipelines.publish.objectstore import MARKER, ObjectStorePublisher
from pipelines.runner import run_pipeline
from schemas.config import FsspecPublish, HubPublish, PipelineConfig, parse_config
from tests.conftest import sample_config_data
from tests.hub_server import HubServer

TOKEN = "hf_jaifPublishTestToken0123456789"
REPO = "jaif/sample-curated"
BUCKET = "jaif-published"
CARD = "---\nlanguage: [de, hu, nl, en]\nlicense: cc-by-4.0\npretty_name: JAIF sample\n---\n# JAIF sample\n"
TOP_LEVEL = {"README.md", "manifest.json", "ai_act_summary.md", "ai_act_summary.json", "report.html"}
FAST = RetryPolicy(attempts=3, initial_delay_s=0.001, max_delay_s=0.01)


# ---------------------------------------------------------------- the finished run


@pytest.fixture(scope="module")
def finished_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample curated into a fresh folder, with a dataset card."""
    out = tmp_path_factory.mktemp("publish") / "out"
    run_pipeline(parse_config(sample_config_data(kind="local", workers=1)), out)
    if not (out / "README.md").exists():
        (out / "README.md").write_text(CARD, encoding="utf-8")
    return out


@pytest.fixture
def out_copy(finished_out: Path, tmp_path: Path) -> Path:
    """A copy of the finished run that a test may damage."""
    return Path(shutil.copytree(finished_out, tmp_path / "out"))


def config(publish: dict[str, Any]) -> PipelineConfig:
    return parse_config({**sample_config_data(kind="local", workers=1), "publish": publish})


def expected_files(out: Path, ledger: bool) -> dict[str, bytes]:
    """What a target must hold by relative path: shards, card, manifest, reports; no logs, no hidden files."""
    folders = {"data", "webdataset", "validation", "lineage"} | ({"ledger"} if ledger else set())
    chosen: dict[str, bytes] = {}
    for path in out.rglob("*"):
        relative = path.relative_to(out).as_posix()
        hidden = any(part.startswith(".") for part in relative.split("/"))
        if path.is_file() and not hidden and (relative in TOP_LEVEL or relative.split("/")[0] in folders):
            chosen[relative] = path.read_bytes()
    return chosen


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_published_files_leave_out_logs_hidden_files_and_the_ledger(out_copy: Path):
    (out_copy / ".work").mkdir(exist_ok=True)
    (out_copy / ".work" / "staging.parquet").write_bytes(b"x")
    (out_copy / "data" / "de" / ".part-00000.parquet.tmp").write_bytes(b"x")
    (out_copy / "validation").mkdir(exist_ok=True)
    (out_copy / "validation" / "results.json").write_text("{}")
    (out_copy / "lineage").mkdir(exist_ok=True)
    (out_copy / "lineage" / "events.jsonl").write_text("{}\n")
    (out_copy / "notes.txt").write_text("not an output of the run")
    assert any((out_copy / "logs").rglob("*"))

    chosen = {p.relative_to(out_copy).as_posix() for p in published_files(out_copy, include_ledger=False)}
    with_ledger = {p.relative_to(out_copy).as_posix() for p in published_files(out_copy, include_ledger=True)}

    assert chosen == set(expected_files(out_copy, ledger=False))
    assert {"README.md", "manifest.json", "validation/results.json", "lineage/events.jsonl"} <= chosen
    assert not any(p.startswith(("logs/", ".work/", "ledger/")) or "/." in p for p in chosen)
    assert "notes.txt" not in chosen
    assert with_ledger - chosen == {p for p in with_ledger if p.startswith("ledger/")} != set()


def test_a_shard_the_manifest_does_not_list_is_refused(out_copy: Path):
    shutil.copy(
        out_copy / "data" / "de" / "part-00000.parquet", out_copy / "data" / "de" / "part-09999.parquet"
    )
    with pytest.raises(PublishError, match=r"data/de/part-09999\.parquet is not listed in manifest\.json"):
        load_finished_run(out_copy, include_ledger=False)


def test_no_publish_section_publishes_nothing(finished_out: Path):
    assert publish_run(finished_out, parse_config(sample_config_data(kind="local", workers=1))) is None


# ---------------------------------------------------------------- Hugging Face Hub (loopback)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubServer]:
    """A fresh loopback Hub, the token in ``HF_TOKEN`` and a Hub home of the test's own."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        pytest.skip("huggingface_hub was imported with HF_HUB_OFFLINE set")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with HubServer(token=TOKEN) as server:
        yield server


def hub_config(hub: HubServer, **settings: Any) -> PipelineConfig:
    return config({"kind": "hub", "repo_id": REPO, "endpoint": hub.endpoint, **settings})


def repo_content(hub: HubServer, revision: str = "main") -> dict[str, bytes]:
    return {path: data for path, data in hub.files(REPO, revision).items() if path != ".gitattributes"}


def test_hub_publish_is_one_commit_to_a_private_repo_with_identical_files(hub: HubServer, finished_out: Path):
    result = publish_run(finished_out, hub_config(hub))

    expected = expected_files(finished_out, ledger=False)
    assert repo_content(hub) == expected
    assert len(hub.commits) == 1
    commit = hub.commits[0]
    manifest = json.loads((finished_out / "manifest.json").read_bytes())
    assert manifest["name"] in commit.summary and manifest["run"]["started_at"] in commit.summary
    assert f"{manifest['counts']['kept']} of {manifest['counts']['inputs']} documents kept" in commit.summary
    assert hub.repo(REPO).private is True
    assert result is not None
    assert (result.kind, result.target, result.commit) == ("hub", f"{REPO}@main", commit.oid)
    assert (result.files, result.bytes) == (len(expected), sum(len(d) for d in expected.values()))
    assert result.url == f"{hub.endpoint}/datasets/{REPO}"
    assert hub.unhandled == []


def test_hub_publish_to_a_revision_creates_the_branch_and_leaves_main_alone(
    hub: HubServer, finished_out: Path
):
    result = publish_run(finished_out, hub_config(hub, revision="run-2026-12"))

    assert repo_content(hub, "run-2026-12") == expected_files(finished_out, ledger=False)
    assert repo_content(hub, "main") == {}
    assert [c.revision for c in hub.commits] == ["run-2026-12"]
    assert result is not None
    assert result.target == f"{REPO}@run-2026-12"
    assert result.url.endswith("/tree/run-2026-12")


def test_hub_ledger_only_with_include_ledger_and_an_earlier_ledger_is_removed(
    hub: HubServer, finished_out: Path
):
    publish_run(finished_out, hub_config(hub, include_ledger=True))
    assert repo_content(hub) == expected_files(finished_out, ledger=True)
    ledger = sorted(p for p in repo_content(hub) if p.startswith("ledger/"))
    assert ledger

    publish_run(finished_out, hub_config(hub, include_ledger=False))

    assert repo_content(hub) == expected_files(finished_out, ledger=False)
    assert len(hub.commits) == 2
    assert sorted(hub.commits[1].deleted) == ledger


def test_hub_republishing_the_same_run_makes_no_new_commit(hub: HubServer, finished_out: Path):
    first = publish_run(finished_out, hub_config(hub))
    again = publish_run(finished_out, hub_config(hub))

    assert len(hub.commits) == 1
    assert first is not None and again is not None
    assert again.commit == first.commit


def test_hub_publish_without_the_token_variable_fails_before_any_request(
    hub: HubServer, finished_out: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PublishError) as failure:
        publish_run(finished_out, hub_config(hub))
    assert str(failure.value) == "publish: environment variable HF_TOKEN is not set"
    assert hub.requests == []

    monkeypatch.setenv("HF_TOKEN", TOKEN)  # another variable named in the config is what counts
    with pytest.raises(PublishError, match="^publish: environment variable JAIF_HUB_TOKEN is not set$"):
        publish_run(finished_out, hub_config(hub, token_env="JAIF_HUB_TOKEN"))


def test_hub_publish_with_a_wrong_token_fails_in_one_line_without_the_token(
    hub: HubServer, finished_out: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    wrong = "hf_wrongTokenWrongToken0123456789"
    monkeypatch.setenv("HF_TOKEN", wrong)
    caplog.set_level("DEBUG")
    with pytest.raises(PublishError) as failure:
        publish_run(finished_out, hub_config(hub))

    message = str(failure.value)
    assert message.startswith(f"publish: hub {REPO}@main: HTTP 401")
    assert "\n" not in message
    assert wrong not in message and TOKEN not in message
    assert failure.value.__cause__ is None
    assert wrong not in caplog.text and TOKEN not in caplog.text
    assert hub.commits == []


def test_redact_removes_the_token_and_any_hf_token_or_bearer_value():
    text = f"401 for Bearer {TOKEN}; token=s3cr3t-value; also hf_AnotherToken123456"
    cleaned = redact(text, "s3cr3t-value")
    assert TOKEN not in cleaned and "s3cr3t-value" not in cleaned and "hf_AnotherToken123456" not in cleaned


def test_hub_refuses_an_existing_public_repo_when_the_config_asks_for_a_private_one(
    hub: HubServer, finished_out: Path
):
    hub.create_repo(REPO, private=False)
    with pytest.raises(PublishError, match="exists and is public"):
        publish_run(finished_out, hub_config(hub))
    assert hub.commits == []

    publish_run(finished_out, hub_config(hub, private=False))
    assert repo_content(hub) == expected_files(finished_out, ledger=False)


def test_hub_large_outputs_go_through_upload_folder_with_the_same_files(hub: HubServer, finished_out: Path):
    settings = hub_config(hub, include_ledger=True).publish
    assert isinstance(settings, HubPublish)
    run = load_finished_run(finished_out, include_ledger=True)

    result = HubPublisher(settings, one_commit_max_files=5).publish(run)

    assert repo_content(hub) == expected_files(finished_out, ledger=True)
    assert hub.commits and result.commit == hub.commits[-1].oid
    assert all(run.name in c.summary for c in hub.commits)
    assert hub.unhandled == []


def test_hub_refuses_a_corrupted_output_before_any_request(hub: HubServer, out_copy: Path):
    flip_one_byte(out_copy / "data" / "de" / "part-00000.parquet")
    with pytest.raises(PublishError, match=r"data/de/part-00000\.parquet does not match its sha256"):
        publish_run(out_copy, hub_config(hub))
    assert hub.requests == []


# ---------------------------------------------------------------- S3 (moto_server)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A real ``moto_server`` process on a free loopback port, started and stopped by this module."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """A boto3 client on a fresh bucket; the AWS environment points s3fs at the moto server."""
    import boto3
    import s3fs

    point_aws_at(moto_endpoint, "us-east-1", monkeypatch, tmp_path)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    s3fs.S3FileSystem.clear_instance_cache()


def bucket_objects(client: Any, prefix: str) -> dict[str, dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            objects[item["Key"][len(prefix) :]] = item
    return objects


def test_s3_publish_copies_every_file_and_writes_the_marker_last(s3: Any, finished_out: Path):
    url = f"s3://{BUCKET}/runs/sample"
    result = publish_run(finished_out, config({"kind": "fsspec", "url": url}))

    expected = expected_files(finished_out, ledger=True)
    objects = bucket_objects(s3, "runs/sample/")
    assert set(objects) == set(expected) | {MARKER}
    for relative, data in expected.items():
        assert s3.get_object(Bucket=BUCKET, Key=f"runs/sample/{relative}")["Body"].read() == data, relative
    marker = json.loads(s3.get_object(Bucket=BUCKET, Key=f"runs/sample/{MARKER}")["Body"].read())
    assert (
        marker["manifest_sha256"] == hashlib.sha256((finished_out / "manifest.json").read_bytes()).hexdigest()
    )
    assert marker["files"] == len(expected) and marker["published_at"].endswith("Z")
    assert objects[MARKER]["LastModified"] >= max(o["LastModified"] for o in objects.values())
    assert result is not None
    assert (result.kind, result.target, result.files, result.commit) == ("fsspec", url, len(expected), None)


def test_s3_republish_that_fails_half_way_leaves_no_marker(s3: Any, finished_out: Path, out_copy: Path):
    url = f"s3://{BUCKET}/runs/sample"
    publish_run(finished_out, config({"kind": "fsspec", "url": url}))
    assert MARKER in bucket_objects(s3, "runs/sample/")

    run = load_finished_run(out_copy, include_ledger=True)  # verified, then a shard disappears
    (out_copy / "webdataset" / "nl" / "shard-000000.tar").unlink()
    settings = FsspecPublish(kind="fsspec", url=url)
    with pytest.raises(PublishError, match=r"uploading webdataset/nl/shard-000000\.tar failed"):
        ObjectStorePublisher(settings, retries=FAST).publish(run)

    assert MARKER not in bucket_objects(s3, "runs/sample/")


def test_s3_refuses_a_corrupted_output_before_uploading_anything(s3: Any, out_copy: Path):
    flip_one_byte(out_copy / "data" / "hu" / "part-00000.parquet")
    with pytest.raises(PublishError, match=r"data/hu/part-00000\.parquet does not match its sha256"):
        publish_run(out_copy, config({"kind": "fsspec", "url": f"s3://{BUCKET}/runs/broken"}))
    assert bucket_objects(s3, "") == {}


def test_s3_publish_to_a_missing_bucket_fails_in_one_line(s3: Any, finished_out: Path):
    with pytest.raises(PublishError, match=r"^publish: s3://jaif-no-such-bucket/x: [^\n]+$"):
        publish_run(finished_out, config({"kind": "fsspec", "url": "s3://jaif-no-such-bucket/x"}))


# ---------------------------------------------------------------- local folder and memory


def test_local_folder_publish_replaces_an_earlier_run_and_keeps_foreign_files(
    finished_out: Path, tmp_path: Path
):
    target = tmp_path / "published"
    (target / "data" / "xx").mkdir(parents=True)
    (target / "data" / "xx" / "part-00099.parquet").write_bytes(b"from an earlier run")
    (target / "notes.txt").write_text("kept: not a published path")
    (target / MARKER).write_text("{}")

    result = publish_run(
        finished_out, config({"kind": "fsspec", "url": str(target), "include_ledger": False})
    )

    found = {p.relative_to(target).as_posix(): p for p in target.rglob("*") if p.is_file()}
    expected = expected_files(finished_out, ledger=False)
    assert set(found) == set(expected) | {MARKER, "notes.txt"}
    assert all(found[relative].read_bytes() == data for relative, data in expected.items())
    assert found[MARKER].stat().st_mtime_ns >= max(found[r].stat().st_mtime_ns for r in expected)
    assert json.loads(found[MARKER].read_text())["files"] == len(expected)
    assert result is not None and result.files == len(expected)


def test_marker_is_the_last_object_written(finished_out: Path):
    url = "memory://jaif-publish-order/run"
    try:
        publish_run(finished_out, config({"kind": "fsspec", "url": url}))
        # the memory store keeps keys in the order they were first written
        written = [key for key in MemoryFileSystem.store if key.startswith("/jaif-publish-order/run/")]
    finally:
        MemoryFileSystem().rm("/jaif-publish-order", recursive=True)
    assert written[-1] == f"/jaif-publish-order/run/{MARKER}"
    assert len(written) == len(expected_files(finished_out, ledger=True)) + 1


class FlakyMemoryFileSystem(MemoryFileSystem):
    """An in-memory store whose first upload of every object drops the connection."""

    protocol = ("flakymem",)
    store: ClassVar[dict[str, Any]] = {}
    pseudo_dirs: ClassVar[list[str]] = [""]
    dropped: ClassVar[list[str]] = []

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        return super()._strip_protocol(str(path).removeprefix("flakymem://"))

    def put_file(self, lpath: Any, rpath: Any, *args: Any, **kwargs: Any) -> None:
        if rpath not in self.dropped:
            self.dropped.append(rpath)
            raise ConnectionResetError("connection reset by peer")
        super().put_file(lpath, rpath, *args, **kwargs)


def test_transient_store_errors_are_retried(finished_out: Path):
    fsspec.register_implementation("flakymem", FlakyMemoryFileSystem, clobber=True)
    FlakyMemoryFileSystem.store.clear()
    FlakyMemoryFileSystem.dropped.clear()
    run = load_finished_run(finished_out, include_ledger=True)
    settings = FsspecPublish(kind="fsspec", url="flakymem://bucket/run")

    result = ObjectStorePublisher(settings, retries=FAST).publish(run)

    assert len(FlakyMemoryFileSystem.dropped) == len(run.files) == result.files
    stored = {
        key.removeprefix("/bucket/run/"): value.getvalue()
        for key, value in FlakyMemoryFileSystem.store.items()
    }
    assert {k: v for k, v in stored.items() if k != MARKER} == expected_files(finished_out, ledger=True)


def test_output_as_an_s3_url_computes_locally_and_copies_the_whole_run(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    from pipelines.run import main
    from pipelines.runner import staging_folder

    monkeypatch.setenv("JAIF_STAGING_DIR", str(tmp_path / "staging"))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(sample_config_data(kind="local", workers=2)))
    url = f"s3://{BUCKET}/runs/remote"
    assert main(["--config", str(config), "--output", url]) == 0
    assert "copied" in capsys.readouterr().out

    local = staging_folder(url)
    assert local.parent == tmp_path / "staging" and (local / "manifest.json").is_file()
    objects = bucket_objects(s3, "runs/remote/")
    expected = expected_files(local, ledger=True)
    assert set(objects) == set(expected) | {MARKER}
    assert any(name.startswith("ledger/") for name in objects) and not any(
        n.startswith("logs/") for n in objects
    )
    for relative, data in expected.items():
        assert s3.get_object(Bucket=BUCKET, Key=f"runs/remote/{relative}")["Body"].read() == data, relative
