"""The files connector: planning, formats, and bad input turned into quarantined records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.files import SourceError, format_from_name, plan_files
from connectors.formats import RecordFields, read_records
from connectors.reader import SourceReader
from schemas.config import FilesSource
from schemas.document import STATUS, Status, document_id


def source(url: str, **kw) -> FilesSource:
    return FilesSource(kind="files", url=url, **kw)


def records(path: Path, fmt: str, text_field: str = "text"):
    return list(read_records(path.as_uri(), fmt, RecordFields(text=text_field)))


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.jsonl.gz", "jsonl"),
        ("a.jsonl.zst", "jsonl"),
        ("CC-MAIN-1.warc.wet.gz", "wet"),
        ("x.warc.gz", "warc"),
        ("x.ARC", "arc"),
        ("p.parquet", "parquet"),
        ("t.csv", "csv"),
        ("page.htm", "html"),
        ("notes.txt", "text"),
        ("image.png", None),
    ],
)
def test_format_from_extension(name, fmt):
    assert format_from_name(name) == fmt


def test_plan_expands_globs_sorted_named_relative_to_the_root(tmp_path):
    for name in ("b.jsonl", "a.jsonl", "sub/c.jsonl"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text('{"text": "x"}\n')
    units = plan_files(source(str(tmp_path / "**" / "*.jsonl"), license="CC0-1.0"), 3)
    assert [u.uri for u in units] == ["a.jsonl", "b.jsonl", "sub/c.jsonl"]
    assert [u.read_url for u in units] == [
        (tmp_path / n).as_uri() for n in ("a.jsonl", "b.jsonl", "sub/c.jsonl")
    ]
    assert all(u.source_index == 3 and u.license == "CC0-1.0" for u in units)
    assert all(u.retrieved_at and u.retrieved_at.endswith("+00:00") for u in units)


def test_plan_errors_are_clear(tmp_path):
    with pytest.raises(SourceError, match=r"sources\[0\]: no files match"):
        plan_files(source(str(tmp_path / "*.jsonl")), 0)
    with pytest.raises(SourceError, match="no such file"):
        plan_files(source(str(tmp_path / "absent.jsonl")), 0)
    (tmp_path / "blob.bin").write_bytes(b"\0")
    with pytest.raises(SourceError, match="cannot tell the format"):
        plan_files(source(str(tmp_path / "blob.bin")), 0)
    assert plan_files(source(str(tmp_path / "blob.bin"), format="text"), 0)[0].format == "text"


def test_jsonl_bad_lines_are_quarantined_with_reasons(tmp_path):
    path = tmp_path / "mixed.jsonl.gz"
    lines = [
        json.dumps({"text": "Guten Tag", "url": "https://a.example/1", "license": "CC-BY-4.0"}).encode(),
        b"{not json",
        b'{"text": "caf\xe9"}',  # Latin-1 byte: not UTF-8
        json.dumps({"body": "no text field"}).encode(),
        json.dumps({"text": "   "}).encode(),
        b'{"text": "lone \\ud800 surrogate"}',
        b"[1, 2]",
        json.dumps({"text": 42}).encode(),
        b"",
        json.dumps({"text": "Goedemiddag"}).encode(),
    ]
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    got = records(path, "jsonl")
    assert [(r.fate[1] if r.fate else r.text) for r in got] == [
        "Guten Tag",
        "input:invalid_json",
        "input:invalid_utf8",
        "input:missing_text",
        "input:empty_text",
        "input:invalid_unicode",
        "input:not_an_object",
        "input:text_not_a_string",
        "Goedemiddag",
    ]
    assert got[0].url == "https://a.example/1" and got[0].license == "CC-BY-4.0"
    assert len({r.locator for r in got}) == len(got), "locators (byte offsets) are unique"


def test_truncated_gzip_quarantines_the_rest(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    payload = gzip.compress(b"".join(json.dumps({"text": f"line {i}"}).encode() + b"\n" for i in range(2000)))
    path.write_bytes(payload[: len(payload) // 2])
    got = records(path, "jsonl")
    assert got[-1].fate == (Status.QUARANTINED, "input:truncated_file")
    assert all(r.fate is None for r in got[:-1]) and len(got) > 10


def test_parquet_rows_and_missing_text_column(tmp_path):
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"text": ["eins", None, "drei"], "url": ["u1", None, None]}), good)
    got = records(good, "parquet")
    assert [r.locator for r in got] == ["row:0", "row:1", "row:2"]
    assert got[1].fate == (Status.QUARANTINED, "input:missing_text")
    assert got[0].url == "u1"
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"content": ["a", "b"]}), other)
    assert [r.fate[1] for r in records(other, "parquet")] == ["input:missing_text"] * 2
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    assert [r.fate[1] for r in records(broken, "parquet")] == ["input:unreadable_file"]


def test_csv_text_and_html_files(tmp_path):
    (tmp_path / "t.csv").write_text("id,body\n1,Hallo Welt\n2,\n", encoding="utf-8")
    got = records(tmp_path / "t.csv", "csv", text_field="body")
    assert got[0].text == "Hallo Welt" and got[1].fate == (Status.QUARANTINED, "input:empty_text")
    (tmp_path / "n.txt").write_bytes(b"\xff\xfe bad")
    assert records(tmp_path / "n.txt", "text")[0].fate == (Status.QUARANTINED, "input:invalid_utf8")
    (tmp_path / "p.html").write_bytes(
        '<html><meta charset="iso-8859-1"><p>Grüße</p></html>'.encode("latin-1")
    )
    page = records(tmp_path / "p.html", "html")[0]
    assert page.content_type == "html" and "Grüße" in page.text


def test_reader_ids_are_stable_and_every_record_is_a_document(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "eins"}\n{broken\n{"text": "drei"}\n')
    units = plan_files(source(str(path)), 0)
    reader = SourceReader(units, [None], str(tmp_path / "counts"))
    docs = list(reader.run(rank=0))
    assert [d.metadata[STATUS] for d in docs] == [Status.KEPT, Status.QUARANTINED, Status.KEPT]
    assert docs[0].id == document_id(units[0].uri, 0)
    assert [d.id for d in SourceReader(units, [None], str(tmp_path / "c2")).run(rank=0)] == [
        d.id for d in docs
    ]
    assert json.loads((tmp_path / "counts" / "00000.json").read_text())["documents"] == 3
    assert len(list(SourceReader(units, [2], str(tmp_path / "c3")).run(rank=0))) == 2


def test_real_web_archives_never_crash(shared_data):
    """Every real WARC/ARC/WET, the deliberately malformed ones included, reads to records or quarantine."""
    warc_dir = shared_data / "web" / "warc"
    reasons: dict[str, set[str]] = {}
    kept_html = 0
    for path in sorted(warc_dir.rglob("*")):
        fmt = format_from_name(path.name)
        if fmt is None:
            continue
        got = records(path, fmt)
        reasons[path.name] = {r.fate[1] for r in got if r.fate}
        kept_html += sum(1 for r in got if r.fate is None and r.content_type == "html")
    assert "input:malformed_archive" in reasons["example-bad-non-chunked.warc.gz"]
    assert "input:malformed_archive" in reasons["IAH-20080430204825-00000-blackbook-truncated.arc"]
    assert "input:http_302" in reasons["IAH-urls-wget.warc.gz"]
    assert "input:warc_revisit" in reasons["example.warc.gz"]
    assert kept_html >= 50


def test_wet_records_are_text(shared_data):
    got = records(shared_data / "web" / "warc" / "commoncrawl_whirlwind" / "whirlwind.warc.wet.gz", "wet")
    usable = [r for r in got if r.fate is None]
    assert usable and all(r.content_type == "text" and r.url for r in usable)
