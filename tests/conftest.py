"""Shared test fixtures: the real data beside the project, and small document builders."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # datatrove task logs: files, not the test output

import pytest  # noqa: E402
from datatrove.data import Document  # noqa: E402

from schemas.document import STATUS, Status  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip when a fresh clone has no such folder."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (real test data lives beside the project)")
    return SHARED_DATA


def read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def output_digests(out: Path) -> dict[str, str]:
    """sha256 of every data, WebDataset and ledger file of a run's output folder, by relative path."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for kind in ("data", "webdataset", "ledger")
        for p in sorted((out / kind).rglob("*"))
        if p.is_file()
    }


def sample_config_data(**engine: object) -> dict:
    """``configs/sample.yaml`` as data, with the sample's absolute path (any working directory) and
    the given ``engine`` section."""
    from schemas.config import load_config

    data = load_config(REPO / "configs" / "sample.yaml").model_dump(mode="json", exclude_unset=True)
    for source in data["sources"]:
        source["url"] = str(REPO / source["url"])
    if engine:
        data["engine"] = engine
    return data


def make_doc(text: str, doc_id: str = "d0", **metadata) -> Document:
    """A kept document as a connector would yield it."""
    return Document(text=text, id=doc_id, metadata={STATUS: Status.KEPT, **metadata})
