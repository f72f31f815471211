"""Object-store faults during listing, opening and reading: real runs against ``moto_server`` behind a
fault-injecting proxy on loopback (``fault_proxy.py``).

Within the retry bound a run's data files are byte-identical to a fault-free run's; no request is
tried more often than the bound (no retry layer stacked on another); past the bound the run fails
with one line naming the URL and the attempts, and no credential.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fault_proxy import FaultProxy, Seen
from loopback import LoopbackServer
from s3_server import moto_server, point_aws_at

from connectors.formats import RecordFields, read_records
from connectors.retry import RetryPolicy, StoreUnreachable
from pipelines.runner import RunError, run_pipeline
from schemas.config import parse_config

REPO = Path(__file__).resolve().parent.parent
BUCKET = "jaif-faults"
ATTEMPTS = 3
RETRIES = {"attempts": ATTEMPTS, "initial_delay_s": 0.01, "max_delay_s": 0.05}
# Planted credentials: moto takes any; no error line may show them.
ACCESS_KEY = "AKIAJAIFFAULTPROXY01"
SECRET_KEY = "jaif-fault-proxy-secret-never-printed"
JSONL_KEY = "corpus/de/lines.jsonl.gz"
WARC_KEY = "web/dolma-sample.warc.gz"


@dataclass
class Store:
    proxy: FaultProxy
    clean: dict[str, bytes]  # data/ files of the fault-free run


def jsonl_gz() -> bytes:
    """~160 KB of gzipped JSONL: hex digests compress poorly, so the file spans several 64 KiB blocks."""
    lines = [
        json.dumps({"text": f"Zeile {i}: " + hashlib.sha256(str(i).encode()).hexdigest() * 4}) + "\n"
        for i in range(4000)
    ]
    return gzip.compress("".join(lines).encode(), mtime=0)


def data_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "data").rglob("*")) if p.is_file()}


def config(endpoint: str) -> dict:
    """JSONL.gz and WARC sources on the proxy; 64 KiB blocks, so a file is read by several ranged GETs."""
    options = {"endpoint_url": endpoint, "default_block_size": 65536}
    return {
        "name": "faults",
        "sources": [
            {"kind": "files", "url": url, "storage_options": options, "retries": RETRIES}
            for url in (f"s3://{BUCKET}/corpus/**/*.jsonl.gz", f"s3://{BUCKET}/web/*.warc.gz")
        ],
        "stages": [],
        "validation": {"enabled": False},
        "engine": {"workers": 1},
    }


@pytest.fixture(scope="module")
def store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """moto_server with the inputs, the proxy in front of it, and the fault-free run's data files."""
    import boto3

    home = tmp_path_factory.mktemp("home")
    with moto_server() as moto, pytest.MonkeyPatch.context() as env, FaultProxy(moto).running() as proxy:
        point_aws_at(moto, "us-east-1", env, home)
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=JSONL_KEY, Body=jsonl_gz())
        warc = shared_data / "web" / "warc" / "dolma" / "sample-0000.warc.gz"
        s3.put_object(Bucket=BUCKET, Key=WARC_KEY, Body=warc.read_bytes())
        clean = home / "clean"
        run_pipeline(parse_config(config(proxy.endpoint)), clean)
        assert {s.access for s in proxy.seen} >= {"list", "open", "read"}
        assert len({s.range for s in proxy.tries("read", JSONL_KEY)}) > 1  # several ranged GETs
        assert len({s.range for s in proxy.tries("read", WARC_KEY)}) > 1
        yield Store(proxy, data_files(clean))


@pytest.fixture
def proxy(store: Store) -> Iterator[FaultProxy]:
    store.proxy.clear()
    yield store.proxy
    store.proxy.clear()


def tries_per_request(seen: list[Seen]) -> Counter[tuple[str, str, str | None]]:
    return Counter((s.access, s.key, s.range) for s in seen)


def test_faults_within_the_bound_leave_the_data_byte_identical(store: Store, proxy: FaultProxy, tmp_path):
    """Every fault kind at listing, opening and reading, at most ATTEMPTS - 1 times per request."""
    rules = [
        proxy.inject("list", "slowdown", 1, key="corpus/"),
        proxy.inject("list", "internal", 1, key="corpus/", after=1),
        proxy.inject("list", "reset", 1, key="web/"),
        proxy.inject("list", "truncate", 1, key="web/", after=1),
        proxy.inject("open", "internal", 2, key=JSONL_KEY),
        proxy.inject("open", "slowdown", 1, key=WARC_KEY),
        proxy.inject("open", "reset", 1, key=WARC_KEY, after=1),
        proxy.inject("read", "truncate", 2, key=JSONL_KEY),  # the first block, cut short twice
        proxy.inject("read", "slowdown", 1, key=JSONL_KEY, after=3),  # the second block
        proxy.inject("read", "reset", 1, key=WARC_KEY),
        proxy.inject("read", "internal", 1, key=WARC_KEY, after=2),  # mid-file: the second block
        proxy.inject("read", "truncate", 1, key=WARC_KEY, after=3),  # and cut short when retried
    ]
    out = tmp_path / "out"
    run_pipeline(parse_config(config(proxy.endpoint)), out)

    assert [rule.injected for rule in rules] == [rule.times for rule in rules]
    assert data_files(out) == store.clean
    resets = Counter((s.access, s.key, s.range) for s in proxy.seen if s.fault == "reset")
    for request, tries in tries_per_request(proxy.seen).items():
        # aiohttp re-sends a request at once when its connection dropped before an answer (one try)
        assert tries <= ATTEMPTS + resets[request], request


@pytest.mark.parametrize(
    ("access", "fault", "url"),
    [
        ("open", "internal", f"s3://{BUCKET}/{JSONL_KEY}"),
        ("read", "truncate", f"s3://{BUCKET}/{JSONL_KEY}"),
        ("read", "reset", f"s3://{BUCKET}/{WARC_KEY}"),
    ],
)
def test_a_fault_past_the_bound_fails_the_task_with_one_line(proxy: FaultProxy, tmp_path, access, fault, url):
    key = url.removeprefix(f"s3://{BUCKET}/")
    proxy.inject(access, fault, 1000, key=key)
    with pytest.raises(RunError) as failure:
        run_pipeline(parse_config(config(proxy.endpoint)), tmp_path / "out")
    message = str(failure.value)
    assert "\n" not in message and f"{url} unreachable after {ATTEMPTS} attempts" in message
    written = [p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()]  # task logs too
    assert written and not any(SECRET_KEY.encode() in b or ACCESS_KEY.encode() in b for b in written)
    assert SECRET_KEY not in message and ACCESS_KEY not in message
    tries = proxy.tries(access, key)
    assert {s.range for s in tries} == {tries[0].range}  # the one request that kept failing
    if fault == "reset":  # each try: the request and aiohttp's immediate re-send
        assert ATTEMPTS <= len(tries) <= 2 * ATTEMPTS
    else:
        assert len(tries) == ATTEMPTS


def test_a_listing_past_the_bound_fails_the_run_in_one_line_without_credentials(proxy: FaultProxy, tmp_path):
    proxy.inject("list", "slowdown", 1000, key="corpus/")
    path = tmp_path / "faults.yaml"
    path.write_text(json.dumps(config(proxy.endpoint)))
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.run", "--config", str(path), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(
        f"error: sources[0]: s3://{BUCKET}/corpus/**/*.jsonl.gz unreachable after {ATTEMPTS} attempts: "
    )
    assert "reduce your request rate" in lines[0]
    assert ACCESS_KEY not in proc.stderr + proc.stdout and SECRET_KEY not in proc.stderr + proc.stdout
    assert len(proxy.tries("list", "corpus/")) == ATTEMPTS


def test_http_reads_resume_within_the_bound_and_fail_past_it(tmp_path):
    """A store without retries of its own (fsspec's HTTP filesystem): our loop, reads resumed mid-file."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "lines.jsonl.gz").write_bytes(jsonl_gz())
    policy = RetryPolicy(ATTEMPTS, 0.01, 0.05)
    with LoopbackServer(tmp_path) as server, FaultProxy(server.base).running() as proxy:
        url = f"{proxy.endpoint}/corpus/lines.jsonl.gz"

        def read() -> list:
            options = {"block_size": 65536}
            return list(read_records(url, "jsonl", RecordFields(), storage_options=options, retries=policy))

        clean = read()
        assert len({s.range for s in proxy.tries("read")}) > 1 and len(clean) == 4000
        proxy.clear()
        rules = [
            proxy.inject("open", "slowdown", 1),  # fsspec then asks a GET for the size
            proxy.inject("read", "truncate", 1, after=2),  # the GET of the second block, mid-file
            proxy.inject("read", "internal", 1, after=3),  # its first retry
            proxy.inject("read", "reset", 1, after=4),  # its second (aiohttp re-sends it at once)
        ]
        assert read() == clean
        assert [rule.injected for rule in rules] == [1, 1, 1, 1]
        resets = Counter((s.access, s.key, s.range) for s in proxy.seen if s.fault == "reset")
        for request, tries in tries_per_request(proxy.seen).items():
            assert tries <= ATTEMPTS + resets[request], request

        proxy.clear()
        proxy.inject("read", "truncate", 1000, after=1)  # every GET after the first block's
        with pytest.raises(StoreUnreachable, match=f"{url} unreachable after {ATTEMPTS} attempts"):
            read()
        assert len(proxy.tries("read")) == 1 + ATTEMPTS
