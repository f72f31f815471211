"""The ``dcat`` connector: harvest a CKAN / DCAT-AP catalogue and plan its resources as files.

```
 package_search (paged: start, rows) ─► datasets ─► resources ─► allowed format and licence?
      ─► InputUnit per resource (read by the files machinery; split when large)
```
The catalogue is searched through the CKAN Action API (``GET {endpoint}/api/3/action/package_search``
with ``q``, ``fq``, ``rows``, ``start``), as served by data.europa.eu, GovData and data.overheid.nl.
Each document read from a resource carries the dataset's licence, its publisher (the CKAN
organisation) and the dataset id in its provenance; ``source_uri`` is the resource URL.
Planning depends only on the catalogue's answers: datasets in name order, resources in
catalogue order, each URL once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from connectors.base import GrantedAccess, InputUnit, SourceError, SourcePlan
from connectors.files import (
    file_units,
    format_from_name,
    read_limits,
    retry_policy,
    unreachable,
)
from connectors.retry import RetryPolicy, one_line
from connectors.stores import filesystem, retried
from schemas.config import DcatSource
from schemas.document import DATASET_ID, PUBLISHER

log = logging.getLogger("jaif.dcat")

# CKAN `format` values (free text, media types, or EU file-type authority URIs) -> reader format.
_FORMAT_ALIASES = {
    "jsonl": "jsonl",
    "json lines": "jsonl",
    "jsonlines": "jsonl",
    "ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "csv": "csv",
    "text/csv": "csv",
    "parquet": "parquet",
    "apache parquet": "parquet",
    "application/vnd.apache.parquet": "parquet",
    "html": "html",
    "htm": "html",
    "text/html": "html",
    "txt": "text",
    "text": "text",
    "plain text": "text",
    "text/plain": "text",
    "warc": "warc",
    "application/warc": "warc",
    "wet": "wet",
    "arc": "arc",
}


def resource_format(resource: dict[str, Any]) -> str | None:
    """The reader format of a CKAN resource: its declared format, else its URL's extension."""
    declared = str(resource.get("format") or "").strip().lower()
    if declared.startswith(("http://", "https://")):  # e.g. .../authority/file-type/CSV
        declared = declared.rstrip("/").rsplit("/", 1)[-1]
    return _FORMAT_ALIASES.get(declared) or format_from_name(str(resource.get("url") or "").split("?")[0])


def _iso(value: Any) -> str | None:
    """CKAN timestamps (``2024-03-01T10:00:00.123456``, UTC without an offset) -> ISO-8601 UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0).isoformat()


def _get_json(url: str, policy: RetryPolicy) -> Any:
    fs, path = filesystem(url, {}, policy)
    return json.loads(retried(fs, lambda: fs.cat_file(path), policy))


def search(source: DcatSource, where: str) -> Iterator[dict[str, Any]]:
    """The datasets ``package_search`` finds, page by page, at most ``max_datasets``."""
    api = source.endpoint.rstrip("/") + "/api/3/action/package_search"
    policy = retry_policy(source.retries)
    start = 0
    while source.max_datasets is None or start < source.max_datasets:
        rows = source.rows if source.max_datasets is None else min(source.rows, source.max_datasets - start)
        params = {"q": source.query, "rows": rows, "start": start, "sort": "name asc"}
        if source.fq:
            params["fq"] = source.fq
        url = f"{api}?{urlencode(params)}"
        try:
            answer = _get_json(url, policy)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{where}: {url} did not answer JSON: {one_line(exc)}") from None
        except Exception as exc:  # aiohttp / OS errors: unreachable, refused, 5xx after retries
            raise unreachable(where, url, exc, policy) from None
        if not isinstance(answer, dict) or not answer.get("success") or "result" not in answer:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise SourceError(f"{where}: {url} answered no result: {one_line(ValueError(error or answer))}")
        datasets = answer["result"].get("results") or []
        yield from datasets
        start += len(datasets)
        if not datasets or start >= int(answer["result"].get("count", 0)):
            return


def _licence_allowed(source: DcatSource, license_id: str | None, license_title: str | None) -> bool:
    if source.licenses is None:
        return True
    allowed = {name.lower() for name in source.licenses}
    return any(value and value.lower() in allowed for value in (license_id, license_title))


def plan_catalogue(source: DcatSource, source_index: int) -> list[InputUnit]:
    """Search the catalogue; one unit per allowed resource (or several for a large splittable file)."""
    where = f"sources[{source_index}]"
    policy = retry_policy(source.retries)
    datasets = sorted(search(source, where), key=lambda d: (str(d.get("name") or ""), str(d.get("id"))))
    units: list[InputUnit] = []
    seen: set[str] = set()
    for dataset in datasets:
        organization = dataset.get("organization") or {}
        publisher = organization.get("title") or organization.get("name") or dataset.get("author")
        for resource in dataset.get("resources") or []:
            url = str(resource.get("url") or "")
            license_id = resource.get("license_id") or dataset.get("license_id")
            license_title = resource.get("license_title") or dataset.get("license_title")
            fmt = resource_format(resource)
            if not url or url in seen or fmt not in source.formats:
                continue
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                log.warning("dataset %s: resource %r is not an http(s) URL; not read", dataset.get("id"), url)
                continue
            if not _licence_allowed(source, license_id, license_title):
                continue
            seen.add(url)
            unit = InputUnit(
                source_index=source_index,
                uri=url,
                format=fmt,
                text_field=source.text_field,
                id_field=source.id_field,
                limits=read_limits(source.limits),
                license=license_id or license_title,
                retrieved_at=_iso(resource.get("last_modified") or dataset.get("metadata_modified")),
                connector="dcat",
                provenance={
                    key: str(value)
                    for key, value in ((PUBLISHER, publisher), (DATASET_ID, dataset.get("id")))
                    if value
                },
                retries=policy,
            )
            units.extend(_resource_units(unit, source.split_mb))
    if not units:
        raise SourceError(
            f"{where}: none of the {len(datasets)} datasets found in {source.endpoint} has a resource "
            f"with an allowed format ({', '.join(source.formats)}) and licence"
        )
    return units


def _resource_units(unit: InputUnit, split_mb: float) -> list[InputUnit]:
    """A large resource is split like any file; one that cannot be looked at now is planned whole."""
    try:
        fs, path = filesystem(unit.uri, unit.storage_options, unit.retries)
        info = retried(fs, lambda: fs.info(path), unit.retries)
        return file_units(fs, path, info, unit, split_mb)
    except Exception:  # the reader records an unreadable resource in the ledger as quarantined
        return [unit]


class DcatConnector:
    """Open catalogue resources need no negotiation: planning harvests them, opening hands them over."""

    def plan(self, source: DcatSource, source_index: int) -> SourcePlan:
        return SourcePlan(source_index, plan_catalogue(source, source_index))

    def open(self, plan: SourcePlan) -> GrantedAccess:
        return GrantedAccess(plan.units, plan.datasets)
