"""The dcat connector against a real HTTP server on loopback that answers like CKAN 2.10's package_search."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loopback import LoopbackServer

from connectors.dcat import plan_catalogue, resource_format
from connectors.files import SourceError
from connectors.reader import SourceReader
from pipelines.runner import RunError, run_pipeline
from schemas.config import DcatSource, parse_config
from schemas.document import DATASET_ID, LICENSE, PUBLISHER, SOURCE, document_id

API = "/api/3/action/package_search"


def dataset(name: str, org: str, license_id: str, license_title: str, resources: list[tuple]) -> dict:
    """A dataset in CKAN 2.10's package_search shape (the fields a harvester reads, and some it ignores)."""
    return {
        "id": f"{name}-0000-4000-8000-{len(name):012d}",
        "name": name,
        "title": name.replace("-", " ").title(),
        "type": "dataset",
        "state": "active",
        "private": False,
        "license_id": license_id,
        "license_title": license_title,
        "metadata_created": "2023-11-02T08:15:00.000000",
        "metadata_modified": "2024-03-01T10:00:00.123456",
        "num_resources": len(resources),
        "organization": {"id": f"org-{org[:4]}", "name": org.lower().replace(" ", "-"), "title": org},
        "tags": [{"name": "open-data"}],
        "resources": [
            {
                "id": f"res-{name}-{i}",
                "package_id": name,
                "name": f"{name} part {i}",
                "url": url,
                "format": fmt,
                "mimetype": None,
                "last_modified": None,
                "position": i,
            }
            for i, (url, fmt) in enumerate(resources)
        ],
    }


@pytest.fixture
def catalogue(tmp_path: Path):
    files = tmp_path / "www" / "files"
    files.mkdir(parents=True)
    (files / "reden.jsonl").write_text(
        "".join(
            json.dumps({"text": t}) + "\n"
            for t in ["Sehr geehrte Damen und Herren", "Die Sitzung ist eröffnet"]
        )
    )
    (files / "haushalt.csv").write_text("id,text\n1,Haushaltsplan der Stadt Köln\n", encoding="utf-8")
    (files / "closed.jsonl").write_text(json.dumps({"text": "geheim"}) + "\n")
    (files / "page.html").write_text("<html><body><p>Welkom bij de Rijksoverheid</p></body></html>")
    pq.write_table(pa.table({"text": ["Dutch table row"]}), files / "tabel.parquet")
    (files / "crawl.warc.gz").write_bytes(b"")
    with LoopbackServer(tmp_path / "www") as server:
        f = server.url("files")
        datasets = [
            dataset(
                "bundestag-reden",
                "Deutscher Bundestag",
                "cc-by-4.0",
                "Creative Commons Attribution 4.0",
                # a catalogue must not make the pipeline read local files: the file:// resource is skipped
                [(f"{f}/reden.jsonl", "JSONL"), (f"{f}/reden.pdf", "PDF"), ("file:///etc/hostname", "JSONL")],
            ),
            dataset(
                "koeln-haushalt",
                "Stadt Köln",
                "dl-de-by-2.0",
                "Datenlizenz Deutschland – Namensnennung – Version 2.0",
                [(f"{f}/haushalt.csv", "CSV")],
            ),
            dataset(
                "vertraulich",
                "Geheimamt",
                "other-closed",
                "Other (Not Open)",
                [(f"{f}/closed.jsonl", "JSONL")],
            ),
            dataset(
                "rijksoverheid-paginas",
                "Rijksoverheid",
                "cc-zero",
                "CC0 1.0",
                [
                    (f"{f}/page.html", "text/html"),
                    (
                        f"{f}/tabel.parquet",
                        "http://publications.europa.eu/resource/authority/file-type/PARQUET",
                    ),
                ],
            ),
            dataset("web-archief", "KB", "cc-by-4.0", "CC BY 4.0", [(f"{f}/crawl.warc.gz", "WARC")]),
        ]

        def package_search(query: dict[str, list[str]]) -> dict:
            start, rows = int(query["start"][0]), int(query["rows"][0])
            found = sorted(datasets, key=lambda d: d["name"])
            return {
                "help": f"{server.base}/api/3/action/help_show?name=package_search",
                "success": True,
                "result": {
                    "count": len(found),
                    "facets": {},
                    "results": found[start : start + rows],
                    "sort": query.get("sort", ["score desc, metadata_modified desc"])[0],
                    "search_facets": {},
                },
            }

        server.routes[API] = package_search
        yield server


def source(server: LoopbackServer, **kw) -> DcatSource:
    defaults = {
        "kind": "dcat",
        "endpoint": server.base,
        "formats": ["jsonl", "csv", "parquet", "html"],
        "licenses": ["CC-BY-4.0", "dl-de-by-2.0", "CC0 1.0"],
        "rows": 2,
    }
    return DcatSource(**{**defaults, **kw})


def searches(server: LoopbackServer) -> list[str]:
    return [r for r in server.requests if API in r]


def test_harvest_pages_and_selects_by_format_and_licence(catalogue):
    units = plan_catalogue(source(catalogue), 0)
    assert len(searches(catalogue)) == 3  # 5 datasets, 2 per page
    assert all("rows=2" in r for r in searches(catalogue))
    assert [r.split("start=")[1].split("&")[0] for r in searches(catalogue)] == ["0", "2", "4"]
    f = catalogue.url("files")
    assert [(u.uri, u.format, u.license) for u in units] == [
        (f"{f}/reden.jsonl", "jsonl", "cc-by-4.0"),
        (f"{f}/haushalt.csv", "csv", "dl-de-by-2.0"),
        (f"{f}/page.html", "html", "cc-zero"),  # allowed by its title, "CC0 1.0"
        (f"{f}/tabel.parquet", "parquet", "cc-zero"),
    ]
    assert units[0].provenance == {
        PUBLISHER: "Deutscher Bundestag",
        DATASET_ID: "bundestag-reden-0000-4000-8000-000000000015",
    }
    assert all(u.connector == "dcat" and u.retrieved_at == "2024-03-01T10:00:00+00:00" for u in units)


def test_resources_outside_http_are_never_planned(catalogue):
    units = plan_catalogue(source(catalogue, licenses=None), 0)
    assert units and all(unit.uri.startswith("http://") for unit in units)


def test_max_datasets_and_licence_free_selection(catalogue):
    units = plan_catalogue(source(catalogue, max_datasets=4, rows=3, licenses=None, formats=["jsonl"]), 0)
    assert len(searches(catalogue)) == 2 and "rows=1" in searches(catalogue)[-1]
    assert [u.uri.rsplit("/", 1)[1] for u in units] == ["reden.jsonl", "closed.jsonl"]


def test_documents_carry_licence_publisher_and_dataset(catalogue, tmp_path):
    units = plan_catalogue(source(catalogue), 0)
    reader = SourceReader(units, [None] * len(units), str(tmp_path / "counts"))
    docs = [doc for rank in range(len(units)) for doc in reader.run(rank=rank)]
    by_text = {d.text: d.metadata for d in docs}
    reden = by_text["Sehr geehrte Damen und Herren"]
    assert reden[SOURCE] == "dcat" and reden[LICENSE] == "cc-by-4.0"
    assert reden[PUBLISHER] == "Deutscher Bundestag" and reden[DATASET_ID].startswith("bundestag-reden")
    assert by_text["Haushaltsplan der Stadt Köln"][PUBLISHER] == "Stadt Köln"


def test_dcat_run_ledger_and_data(catalogue, tmp_path):
    config = parse_config(
        {
            "name": "dcat",
            "sources": [source(catalogue).model_dump(exclude_defaults=True) | {"kind": "dcat"}],
            "engine": {"workers": 1},
        }
    )
    out = tmp_path / "out"
    result = run_pipeline(config, out)
    f = catalogue.url("files")
    ledger = pq.read_table(out / "ledger").to_pylist()
    assert result.summary.inputs == len(ledger) == 5
    assert {r["source_uri"] for r in ledger} == {
        f"{f}/reden.jsonl",
        f"{f}/haushalt.csv",
        f"{f}/page.html",
        f"{f}/tabel.parquet",
    }
    assert document_id(f"{f}/reden.jsonl", 0) in {r["id"] for r in ledger}
    data = {d["source_uri"].rsplit("/", 1)[1]: d for d in pq.read_table(out / "data").to_pylist()}
    assert data["haushalt.csv"]["license"] == "dl-de-by-2.0" and data["haushalt.csv"]["source"] == "dcat"
    assert data["tabel.parquet"]["license"] == "cc-zero"
    assert data["haushalt.csv"]["publisher"] == "Stadt Köln" and data["haushalt.csv"]["dataset_id"]
    assert not any("closed" in r["source_uri"] for r in ledger)


def test_empty_selection_and_dead_catalogue_are_clear_errors(catalogue):
    with pytest.raises(SourceError, match=r"sources\[0\]: none of the 5 datasets .* allowed format \(arc\)"):
        plan_catalogue(source(catalogue, formats=["arc"]), 0)
    catalogue.fail_first[API] = 100
    fast = {"attempts": 2, "initial_delay_s": 0.01, "max_delay_s": 0.01}
    config = parse_config(
        {"name": "dead", "sources": [{"kind": "dcat", "endpoint": catalogue.base, "retries": fast}]}
    )
    with pytest.raises(RunError, match=r"sources\[0\]: .*package_search.* unreachable after 2 attempts"):
        run_pipeline(config, Path("unused"))


@pytest.mark.parametrize(
    ("resource", "fmt"),
    [
        ({"format": "CSV", "url": "x"}, "csv"),
        ({"format": "text/html", "url": "x"}, "html"),
        ({"format": "", "url": "https://x/a.jsonl.gz?download=1"}, "jsonl"),
        ({"format": "http://publications.europa.eu/resource/authority/file-type/TXT", "url": "x"}, "text"),
        ({"format": "PDF", "url": "https://x/a.pdf"}, None),
    ],
)
def test_resource_formats(resource, fmt):
    assert resource_format(resource) == fmt
