"""Input limits: broken input (a runaway line, a huge cell or payload, a decompression bomb) is
quarantined ``input:record_too_large`` while streaming, never read whole, and ``--strict`` fails a
run that quarantined anything.

The broken files are generated here, the large ones streaming, so the tests stay small in memory.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from warcio.warcwriter import WARCWriter

from connectors.formats import ReadLimits, RecordFields, read_records
from pipelines.runner import run_pipeline
from schemas.config import InputLimits, parse_config
from schemas.document import Status, document_id

REPO = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
TOO_LARGE = "input:record_too_large"
GOOD = [
    {"id": f"g{i}", "text": f"Good document number {i}: the council met on Tuesday to talk about {i}."}
    for i in range(6)
]


def _jsonl_line(row: dict) -> bytes:
    return json.dumps(row).encode() + b"\n"


def _write_bomb(path: Path, line_mb: int, before: list[dict], after: list[dict]) -> int:
    """A gzipped JSONL whose one line expands to ``line_mb`` MiB, written chunk by chunk; its offset."""
    with gzip.open(path, "wb", compresslevel=6) as out:
        offset = 0
        for row in before:
            offset += out.write(_jsonl_line(row))
        out.write(b'{"id": "bomb", "text": "')
        chunk = b"a" * MB
        for _ in range(line_mb):
            out.write(chunk)
        out.write(b'"}\n')
        for row in after:
            out.write(_jsonl_line(row))
    return offset


def _jsonl_with_long_line(path: Path) -> None:
    lines = [_jsonl_line(row) for row in GOOD]
    lines.insert(3, _jsonl_line({"id": "huge", "text": "b" * (5 * MB)}))
    path.write_bytes(b"".join(lines))


def _warc_with_huge_record(path: Path) -> None:
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        texts = [row["text"].encode() for row in GOOD]
        texts.insert(2, b"c" * (5 * MB))
        for i, text in enumerate(texts):
            record = writer.create_warc_record(
                f"https://example.org/{i}",
                "resource",
                payload=io.BytesIO(text),
                warc_content_type="text/plain",
            )
            writer.write_record(record)


def _parquet_with_huge_cell(path: Path) -> None:
    rows = [dict(row) for row in GOOD]
    rows.insert(4, {"id": "huge", "text": "d" * (3 * MB)})
    pq.write_table(pa.Table.from_pylist(rows), path)


BROKEN = {
    "big.jsonl": (_jsonl_with_long_line, {"max_line_mb": 1}, 1),
    "big.warc.gz": (_warc_with_huge_record, {"max_record_mb": 1}, 1),
    "big.parquet": (_parquet_with_huge_cell, {"max_record_mb": 1}, 1),
}


def _config(url: Path, limits: dict, name: str = "limits") -> dict:
    return {
        "name": name,
        "sources": [{"kind": "files", "url": str(url), "limits": limits}],
        "stages": [],
        "validation": {"enabled": False},
        "engine": {"kind": "local", "workers": 1},
    }


def _ledger(out: Path) -> list[dict]:
    return pq.read_table(out / "ledger").to_pylist()


def test_limits_config_defaults_and_validation():
    limits = InputLimits()
    assert (limits.max_record_mb, limits.max_line_mb, limits.max_decompressed_mb) == (32, 64, 256)
    config = parse_config(_config(Path("a.jsonl"), {"max_line_mb": 0.5}))
    assert config.sources[0].limits.max_line_mb == 0.5
    with pytest.raises(ValueError, match=r"sources\[0\]\.limits\.max_line_mb"):
        parse_config(_config(Path("a.jsonl"), {"max_line_mb": 0}))


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_oversized_record_is_quarantined_and_the_rest_kept(tmp_path, name):
    build, limits, _ = BROKEN[name]
    path = tmp_path / "in" / name
    path.parent.mkdir()
    build(path)
    fmt = {"big.jsonl": "jsonl", "big.warc.gz": "warc", "big.parquet": "parquet"}[name]
    # Within the default limits every record is read: the ids the good records must keep.
    reference = list(read_records(path.as_uri(), fmt, RecordFields()))
    assert all(r.fate is None for r in reference)

    run_pipeline(parse_config(_config(path, limits)), tmp_path / "out", workers=1)
    rows = {row["locator"]: row for row in _ledger(tmp_path / "out")}
    assert set(rows) == {r.locator for r in reference}
    bad = [row for row in rows.values() if row["status"] != Status.KEPT]
    assert len(bad) == 1
    assert (bad[0]["status"], bad[0]["reason"]) == (Status.QUARANTINED, TOO_LARGE)
    limit = limits.get("max_line_mb", limits.get("max_record_mb"))
    assert json.loads(bad[0]["evidence"])["limit_mb"] == limit
    big = max(reference, key=lambda r: len(r.text))
    assert bad[0]["locator"] == big.locator
    for record in reference:
        row = rows[record.locator]
        assert row["id"] == document_id(name, record.locator)  # named relative to the source's root
        if record is not big:
            assert row["status"] == Status.KEPT and row["source_id"] == record.source_id


def test_long_jsonl_line_keeps_exact_offsets(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [_jsonl_line(row) for row in GOOD]
    lines.insert(2, _jsonl_line({"id": "huge", "text": "x" * (3 * MB)}))
    lines.append(b'{"id": "last", "text": "' + b"y" * (2 * MB) + b'"}')  # no newline at the end
    path.write_bytes(b"".join(lines))
    offsets = [sum(len(line) for line in lines[:i]) for i in range(len(lines))]
    got = list(read_records(path.as_uri(), "jsonl", RecordFields(), limits=ReadLimits(line_mb=1)))
    assert [r.locator for r in got] == [str(o) for o in offsets]
    assert [r.fate for r in got if r.fate] == [(Status.QUARANTINED, TOO_LARGE)] * 2
    assert [r.source_id for r in got if not r.fate] == [row["id"] for row in GOOD]


def test_text_field_over_the_record_limit(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(_jsonl_line(GOOD[0]) + _jsonl_line({"id": "big", "text": "z" * (2 * MB)}))
    got = list(read_records(path.as_uri(), "jsonl", RecordFields(), limits=ReadLimits(record_mb=1)))
    assert got[0].fate is None
    assert got[1].fate == (Status.QUARANTINED, TOO_LARGE) and got[1].source_id == "big"
    assert got[1].extra["evidence"]["limit_mb"] == 1


def test_decompression_bomb_stops_at_the_cap(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    offset = _write_bomb(path, 20, GOOD[:2], GOOD[2:])
    limits = ReadLimits(line_mb=1, decompressed_mb=4)
    got = list(read_records(path.as_uri(), "jsonl", RecordFields(), limits=limits))
    assert [r.source_id for r in got[:2]] == ["g0", "g1"]
    last = got[-1]
    assert len(got) == 3 and (last.locator, last.fate) == (str(offset), (Status.QUARANTINED, TOO_LARGE))
    evidence = last.extra["evidence"]
    assert evidence["limit_mb"] == 4 and evidence["rest_of_file_unread"] is True
    assert evidence["read_bytes"] < 6 * MB  # reading stopped near the cap, not at the line's end
    # The cap is on decompression: the same line uncompressed is skipped whole and the rest read.
    plain = tmp_path / "bomb.jsonl"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    got = list(read_records(plain.as_uri(), "jsonl", RecordFields(), limits=limits))
    assert [r.source_id for r in got if not r.fate] == [row["id"] for row in GOOD]


def test_text_and_csv_over_the_limits(tmp_path):
    text = tmp_path / "big.txt.gz"
    with gzip.open(text, "wb") as out:
        for _ in range(8):
            out.write(b"w" * MB)
    got = list(read_records(text.as_uri(), "text", RecordFields(), limits=ReadLimits(record_mb=1)))
    assert [(r.locator, r.fate) for r in got] == [("0", (Status.QUARANTINED, TOO_LARGE))]
    table = tmp_path / "t.csv"
    table.write_text("id,text\na,first row\nb," + "v" * (2 * MB) + "\nc,never read\n")
    got = list(read_records(table.as_uri(), "csv", RecordFields(), limits=ReadLimits(record_mb=1)))
    assert [r.fate for r in got] == [None, (Status.QUARANTINED, TOO_LARGE)]
    assert got[1].locator == "row:1" and got[1].extra["evidence"]["rest_of_file_unread"] is True


# ---------------------------------------------------------------- through the CLI: memory and --strict

# The CLI under a wrapper that is the subreaper of its descendants: the local engine's workers come
# from a fork server the CLI never waits for, so the wrapper reaps it, and RUSAGE_CHILDREN's peak
# then covers the CLI, the fork server and every worker.
_PEAK = """
import ctypes, os, resource, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
rc = subprocess.run([sys.executable, "-m", "pipelines.run", *sys.argv[1:]], capture_output=True).returncode
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _cli_peak(config: dict, tmp_path: Path, name: str, *args: str) -> tuple[int, int]:
    """Run the CLI on ``config`` with one worker: (exit status, peak RSS in MiB of it and its workers)."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    out = tmp_path / f"out-{name}"
    command = [
        sys.executable,
        "-c",
        _PEAK,
        "--config",
        str(path),
        "--output",
        str(out),
        "--workers",
        "1",
        *args,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=True)
    rc, peak_kib = result.stdout.split()
    return int(rc), int(peak_kib) // 1024


def _cli(config: dict, tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "pipelines.run", "--config", str(path), "--output", str(tmp_path / name)]
    return subprocess.run([*command, *args], cwd=REPO, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the peak-memory wrapper needs Linux's prctl"
)
def test_decompression_bomb_costs_bounded_memory(tmp_path):
    """A 300 MiB line from a ~300 KiB file: skipped in chunks, the good lines around it kept."""
    bomb_dir, base_dir = tmp_path / "bomb", tmp_path / "base"
    bomb_dir.mkdir()
    base_dir.mkdir()
    offset = _write_bomb(bomb_dir / "a.jsonl.gz", 300, GOOD[:3], GOOD[3:])
    assert (bomb_dir / "a.jsonl.gz").stat().st_size < 2 * MB
    with gzip.open(base_dir / "a.jsonl.gz", "wb") as out:
        out.write(b"".join(_jsonl_line(row) for row in GOOD))
    limits = {"max_line_mb": 1, "max_decompressed_mb": 512}

    rc_base, base_mib = _cli_peak(_config(base_dir / "*.jsonl.gz", limits, "base"), tmp_path, "base")
    rc_bomb, bomb_mib = _cli_peak(_config(bomb_dir / "*.jsonl.gz", limits, "bomb"), tmp_path, "bomb")
    print(f"peak RSS: baseline {base_mib} MiB, with the 300 MiB bomb line {bomb_mib} MiB")
    assert rc_base == 0 and rc_bomb == 0
    assert bomb_mib < 1024 and bomb_mib - base_mib < 150

    rows = _ledger(tmp_path / "out-bomb")
    kept = sorted(row["source_id"] for row in rows if row["status"] == Status.KEPT)
    assert kept == [row["id"] for row in GOOD]
    (bad,) = [row for row in rows if row["status"] != Status.KEPT]
    assert (bad["reason"], bad["locator"]) == (TOO_LARGE, str(offset))


def test_strict_fails_a_run_with_quarantined_documents(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b"".join(_jsonl_line(row) for row in GOOD))
    clean = _cli(_config(folder / "*.jsonl", {}), tmp_path, "clean", "--strict")
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr.strip() == ""

    _jsonl_with_long_line(folder / "a.jsonl")
    broken = _cli(_config(folder / "*.jsonl", {"max_line_mb": 1}), tmp_path, "broken", "--strict")
    assert broken.returncode == 1
    lines = broken.stderr.strip().splitlines()
    assert lines == [f"error: 1 document quarantined (strict): top reasons {TOO_LARGE} (1)"]
    assert "quarantined" in broken.stdout  # the summary was printed, the run written
    assert (tmp_path / "broken" / "manifest.json").is_file()
