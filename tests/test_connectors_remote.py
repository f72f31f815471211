"""The files connector on remote stores: a real moto S3 server and a real HTTP server, both on loopback."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.core import url_to_fs
from loopback import LoopbackServer, free_port
from s3_server import moto_server, point_aws_at

from connectors.files import plan_files
from connectors.retry import RetryPolicy, is_transient, with_retries
from pipelines.runner import RunError, plan_units, run_pipeline
from schemas.config import ConfigError, FilesSource, parse_config
from schemas.document import document_id

REPO = Path(__file__).resolve().parent.parent
BUCKET = "jaif-corpus"
FAST_RETRIES = {"attempts": 4, "initial_delay_s": 0.01, "max_delay_s": 0.05}


def jsonl_gz(texts: list[str]) -> tuple[bytes, list[int]]:
    """Gzipped JSONL and the byte offset of every line in the uncompressed text."""
    lines = [json.dumps({"text": t}).encode() + b"\n" for t in texts]
    offsets = [sum(len(line) for line in lines[:i]) for i in range(len(lines))]
    return gzip.compress(b"".join(lines), mtime=0), offsets


def config(*sources: dict, **extra) -> object:
    return parse_config({"name": "remote", "sources": list(sources), "engine": {"workers": 1}, **extra})


def ledger(out: Path) -> pa.Table:
    return pq.read_table(out / "ledger")


# ---------------------------------------------------------------- S3 (moto_server)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A real ``moto_server`` process on a free loopback port, started and stopped by the test module."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The standard AWS environment pointing at the moto server; fresh s3fs instances."""
    import s3fs

    point_aws_at(moto_endpoint, "eu-central-1", monkeypatch, tmp_path)
    yield moto_endpoint
    s3fs.S3FileSystem.clear_instance_cache()


def test_s3_run_reads_jsonl_parquet_and_warc_with_s3_ids(s3_env, shared_data, tmp_path):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    texts = {
        "corpus/de/a.jsonl.gz": ["Guten Morgen", "Guten Abend"],
        "corpus/nl/b/c.jsonl.gz": ["Goedemorgen"],
    }
    offsets = {}
    for key, lines in texts.items():
        payload, offsets[key] = jsonl_gz(lines)
        s3.put_object(Bucket=BUCKET, Key=key, Body=payload)
    table = pa.table({"text": ["Jó reggelt", "Jó estét"]})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    s3.put_object(Bucket=BUCKET, Key="corpus/hu/d.parquet", Body=sink.getvalue().to_pybytes())
    warc = shared_data / "web" / "warc" / "warcio" / "example.warc.gz"
    s3.put_object(Bucket=BUCKET, Key="corpus/web/example.warc.gz", Body=warc.read_bytes())
    big = b"".join(json.dumps({"text": f"Zeile {i} " + "x" * (i % 50)}).encode() + b"\n" for i in range(120))
    s3.put_object(Bucket=BUCKET, Key="big/lines.jsonl", Body=big)

    cfg = config(
        {"kind": "files", "url": f"s3://{BUCKET}/corpus/**/*.jsonl.gz", "license": "CC-BY-4.0"},
        {"kind": "files", "url": f"s3://{BUCKET}/corpus/hu/*.parquet"},
        {"kind": "files", "url": f"s3://{BUCKET}/corpus/web/*.warc.gz"},
        {"kind": "files", "url": f"s3://{BUCKET}/big/lines.jsonl", "split_mb": 0.002},
    )
    units = plan_units(cfg)
    assert [u.uri for u in units[:2]] == [
        f"s3://{BUCKET}/corpus/de/a.jsonl.gz",
        f"s3://{BUCKET}/corpus/nl/b/c.jsonl.gz",
    ]
    assert all(u.retrieved_at for u in units)
    big_units = [u for u in units if u.uri.endswith("lines.jsonl")]
    assert (
        len(big_units) == -(-len(big) // int(0.002 * 1024 * 1024)) > 1
        and big_units[0].start == 0
        and big_units[-1].end is None
    )

    out = tmp_path / "out"
    result = run_pipeline(cfg, out, workers=1)
    rows = ledger(out).to_pylist()
    assert result.summary.inputs == len(rows)
    assert all(r["source_uri"].startswith(f"s3://{BUCKET}/") for r in rows)
    ids = {r["id"] for r in rows}
    for key, offs in offsets.items():
        assert {document_id(f"s3://{BUCKET}/{key}", o) for o in offs} <= ids
    assert {document_id(f"s3://{BUCKET}/corpus/hu/d.parquet", f"row:{i}") for i in range(2)} <= ids
    assert sum(r["source_uri"].endswith("example.warc.gz") for r in rows) >= 1
    line_offsets = [0]
    for line in big.splitlines(keepends=True)[:-1]:
        line_offsets.append(line_offsets[-1] + len(line))
    big_ids = {r["id"] for r in rows if r["source_uri"].endswith("lines.jsonl")}
    assert big_ids == {document_id(f"s3://{BUCKET}/big/lines.jsonl", o) for o in line_offsets}
    data = pq.read_table(out / "data").to_pylist()
    de = {d["text"]: d for d in data if d["source_uri"].endswith("a.jsonl.gz")}
    assert set(de) == {"Guten Morgen", "Guten Abend"} and de["Guten Morgen"]["license"] == "CC-BY-4.0"


def test_s3_missing_prefix_is_a_clear_error(s3_env):
    import boto3

    boto3.client("s3").create_bucket(
        Bucket="jaif-empty", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    with pytest.raises(RunError, match=r"sources\[0\]: no files match s3://jaif-empty/none/"):
        run_pipeline(config({"kind": "files", "url": "s3://jaif-empty/none/*.jsonl"}), Path("unused"))


def test_storage_options_refuse_secrets():
    with pytest.raises(
        ConfigError, match=r"sources\[0\]\.storage_options: .*storage_options\.key .*environment"
    ):
        config({"kind": "files", "url": "s3://b/x", "storage_options": {"key": "AKIA..."}})
    with pytest.raises(ConfigError, match=r"storage_options\.client_kwargs\.aws_secret_access_key"):
        config(
            {
                "kind": "files",
                "url": "s3://b/x",
                "storage_options": {"client_kwargs": {"aws_secret_access_key": "s"}},
            }
        )
    with pytest.raises(ConfigError, match=r"storage_options\.session_token"):
        config({"kind": "files", "url": "s3://b/x", "storage_options": {"session_token": "t"}})
    ok = config(
        {"kind": "files", "url": "s3://b/x", "storage_options": {"endpoint_url": "http://x", "anon": True}}
    )
    assert ok.sources[0].storage_options == {"endpoint_url": "http://x", "anon": True}


# ---------------------------------------------------------------- HTTP(S)


@pytest.fixture
def web_folder(tmp_path: Path) -> tuple[Path, dict[str, list[int]]]:
    root = tmp_path / "www"
    offsets = {}
    for name, lines in {
        "corpus/de/a.jsonl.gz": ["Guten Tag", "Auf Wiedersehen"],
        "corpus/nl/b.jsonl.gz": ["Goedendag"],
        "flaky/c.jsonl.gz": ["Szia"],
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        payload, offsets[name] = jsonl_gz(lines)
        (root / name).write_bytes(payload)
    return root, offsets


def test_https_glob_through_index_pages(web_folder, tmp_path):
    root, offsets = web_folder
    with LoopbackServer(root) as server:
        out = tmp_path / "out"
        run_pipeline(config({"kind": "files", "url": server.url("corpus/**/*.jsonl.gz")}), out, workers=1)
        rows = ledger(out).to_pylist()
        expected = {
            document_id(server.url(name), o)
            for name, offs in offsets.items()
            if "corpus" in name
            for o in offs
        }
        assert {r["id"] for r in rows} == expected
        assert {r["source_uri"] for r in rows} == {
            server.url("corpus/de/a.jsonl.gz"),
            server.url("corpus/nl/b.jsonl.gz"),
        }


def test_https_throttling_is_retried_with_backoff(web_folder, tmp_path):
    root, _ = web_folder
    with LoopbackServer(root) as server:
        server.fail_first["/flaky/c.jsonl.gz"] = 3
        cfg = config({"kind": "files", "url": server.url("flaky/c.jsonl.gz"), "retries": FAST_RETRIES})
        result = run_pipeline(cfg, tmp_path / "out", workers=1)
        assert server.failed["/flaky/c.jsonl.gz"] == 3
        assert result.summary.inputs == 1
        assert pq.read_table(tmp_path / "out" / "data").column("text").to_pylist() == ["Szia"]

        server.fail_first["/flaky/c.jsonl.gz"] = 100
        cfg = config({"kind": "files", "url": server.url("flaky/c.jsonl.gz"), "retries": FAST_RETRIES})
        with pytest.raises(
            RunError, match=r"sources\[0\]: .*flaky/c\.jsonl\.gz unreachable after 4 attempts"
        ):
            run_pipeline(cfg, tmp_path / "out2", workers=1)
        assert server.failed["/flaky/c.jsonl.gz"] == 3 + 4 * 2  # each attempt: fsspec tries HEAD, then GET


def test_unreachable_url_fails_the_run_with_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/data/a.jsonl"
    cfg_path = tmp_path / "dead.yaml"
    cfg_path.write_text(
        json.dumps({"name": "dead", "sources": [{"kind": "files", "url": url, "retries": FAST_RETRIES}]})
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.run", "--config", str(cfg_path), "--output", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: sources[0]: ")
    assert f"{url} unreachable after 4 attempts" in lines[0]


def test_missing_http_file_is_not_retried(web_folder):
    root, _ = web_folder
    with LoopbackServer(root) as server:
        with pytest.raises(Exception, match="no such file"):
            plan_files(FilesSource(kind="files", url=server.url("corpus/absent.jsonl")), 0)
        assert sum("absent" in r for r in server.requests) <= 2  # HEAD, then GET: once, no retries


def test_retry_policy_backs_off_exponentially_and_gives_up():
    policy = RetryPolicy(attempts=5, initial_delay_s=1.0, max_delay_s=3.0)
    delays = list(policy.delays())
    assert len(delays) == 4 and all(0.5 * c <= d <= c for d, c in zip(delays, [1, 2, 3, 3], strict=True))
    slept: list[float] = []
    calls = []

    def refused() -> None:
        calls.append(1)
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        with_retries(refused, policy, sleep=slept.append)
    assert len(calls) == 5 and len(slept) == 4
    assert not is_transient(FileNotFoundError("gone")) and is_transient(TimeoutError())


def test_hf_urls_resolve_through_the_same_fsspec_call():
    """hf:// needs the Hub (unreachable in tests); it is planned by the same fsspec code as every store."""
    pytest.importorskip("huggingface_hub")
    fs, path = url_to_fs("hf://datasets/org/corpus/data/**/*.parquet")
    assert type(fs).__name__ == "HfFileSystem" and path == "datasets/org/corpus/data/**/*.parquet"
    assert (
        fs.unstrip_protocol("datasets/org/corpus/data/a.parquet") == "hf://datasets/org/corpus/data/a.parquet"
    )
