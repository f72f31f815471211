"""Output shard writers: kept documents per language into Parquet and WebDataset shards.

Task ``rank`` writes ``<parts>/<kind>/<lang>/<rank>-<k>.<ext>``, starting a new file
``k+1`` once the next document would take the current one past ``shard_max_mb``.
Which file a document lands in depends only on the data, never on timing or worker
count; the run's finalisation renames the parts into ``part-XXXXX`` / ``shard-XXXXXX``
in (rank, k) order. Each kept document gets the (part) path of its Parquet shard in
``metadata["shard"]`` for the ledger.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from abc import abstractmethod
from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipelines.sinks.batches import BatchedParquetFile
from pipelines.sinks.staging import data_row
from schemas.document import LANG, is_kept
from schemas.records import DATA_SCHEMA

SHARD = "shard"
UNDETERMINED = "und"
ROW_GROUP_ROWS = 10_000
ROW_GROUP_BYTES = 64 << 20


_LANGUAGE_FOLDER = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{1,8})*")


def document_lang(doc: Document) -> str:
    """The language folder of a kept document: its language code, else ``und`` (never a path)."""
    lang = doc.metadata.get(LANG)
    return lang if isinstance(lang, str) and _LANGUAGE_FOLDER.fullmatch(lang) else UNDETERMINED


class _ShardFile:
    """One open output file of one language."""

    def __init__(self, path: Path):
        self.path = path
        self.bytes = 0  # bytes written or buffered so far (an estimate until closed)


class RollingShardWriter(PipelineStep):
    """Routes kept documents to one rolling shard per language; the subclass knows the file format."""

    type = "write"
    kind = "shards"
    extension = ""

    def __init__(self, parts_dir: str, shard_max_mb: int):
        super().__init__()
        self.parts_dir = parts_dir
        self.max_bytes = shard_max_mb << 20

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        open_files: dict[str, _ShardFile] = {}
        counters: dict[str, int] = {}
        try:
            for doc in data:
                if is_kept(doc):
                    lang = document_lang(doc)
                    size = self.estimate_bytes(doc)
                    current = open_files.get(lang)
                    if current is not None and current.bytes > 0 and current.bytes + size > self.max_bytes:
                        self.close(current)
                        current = None
                    if current is None:
                        k = counters.get(lang, 0)
                        counters[lang] = k + 1
                        path = (
                            Path(self.parts_dir) / self.kind / lang / f"{rank:05d}-{k:05d}.{self.extension}"
                        )
                        path.parent.mkdir(parents=True, exist_ok=True)
                        current = open_files[lang] = self.open(path)
                    self.add(current, doc)
                    current.bytes += size
                    self.annotate(doc, current)
                    self.stat_update(f"{self.kind}_{lang}")
                yield doc
        finally:
            for shard in open_files.values():
                self.close(shard)

    def annotate(self, doc: Document, shard: _ShardFile) -> None:
        """Record where the document went (only the Parquet writer does)."""

    @abstractmethod
    def estimate_bytes(self, doc: Document) -> int: ...

    @abstractmethod
    def open(self, path: Path) -> _ShardFile: ...

    @abstractmethod
    def add(self, shard: _ShardFile, doc: Document) -> None: ...

    @abstractmethod
    def close(self, shard: _ShardFile) -> None: ...


class _ParquetShard(_ShardFile):
    def __init__(self, path: Path, relative: str):
        super().__init__(path)
        self.relative = relative  # the path under the parts folder, as the ledger records it
        self.file = BatchedParquetFile(path, DATA_SCHEMA, ROW_GROUP_ROWS, ROW_GROUP_BYTES)


class ParquetShardWriter(RollingShardWriter):
    """HF-datasets compatible zstd Parquet with :data:`DATA_SCHEMA`."""

    name = "parquet"
    kind = "data"
    extension = "parquet"

    def estimate_bytes(self, doc: Document) -> int:
        # zstd text compresses 2.5-4x; estimating on the raw size keeps shards under the bound.
        return len(doc.text.encode("utf-8")) // 2 + 256

    def open(self, path: Path) -> _ParquetShard:
        return _ParquetShard(path, path.relative_to(self.parts_dir).as_posix())

    def add(self, shard: _ShardFile, doc: Document) -> None:
        assert isinstance(shard, _ParquetShard)
        shard.file.append(data_row(doc), nbytes=len(doc.text))

    def annotate(self, doc: Document, shard: _ShardFile) -> None:
        assert isinstance(shard, _ParquetShard)
        doc.metadata[SHARD] = shard.relative

    def close(self, shard: _ShardFile) -> None:
        assert isinstance(shard, _ParquetShard)
        shard.file.close()


class _TarShard(_ShardFile):
    def __init__(self, path: Path):
        super().__init__(path)
        self.tar = tarfile.open(path, "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115 - closed by the writer


WEBDATASET_METADATA = (
    "id",
    "lang",
    "lang_score",
    "url",
    "source",
    "source_uri",
    "license",
    "agreement_id",
    "retrieved_at",
    "publisher",
    "dataset_id",
    "policy",
    "content_sha256",
    "pii_counts",
)


class WebDatasetShardWriter(RollingShardWriter):
    """WebDataset tar shards: per document ``<id>.txt`` (the text) and ``<id>.json`` (its metadata).

    Members have fixed owner, mode and mtime so the same documents give the same bytes.
    """

    name = "webdataset"
    kind = "webdataset"
    extension = "tar"

    @staticmethod
    def _members(doc: Document) -> tuple[bytes, bytes]:
        row = data_row(doc)
        meta = {k: row[k] for k in WEBDATASET_METADATA}
        retrieved_at = meta["retrieved_at"]  # milliseconds, as the Parquet column stores it
        meta["retrieved_at"] = retrieved_at.isoformat(timespec="milliseconds") if retrieved_at else None
        return doc.text.encode("utf-8"), json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def estimate_bytes(self, doc: Document) -> int:
        return len(doc.text.encode("utf-8")) + 2048  # two headers, padding and the JSON

    def open(self, path: Path) -> _TarShard:
        return _TarShard(path)

    def add(self, shard: _ShardFile, doc: Document) -> None:
        assert isinstance(shard, _TarShard)
        for suffix, payload in zip(("txt", "json"), self._members(doc), strict=True):
            info = tarfile.TarInfo(f"{doc.id}.{suffix}")
            info.size = len(payload)
            info.mode = 0o644
            info.mtime = 0
            shard.tar.addfile(info, io.BytesIO(payload))

    def close(self, shard: _ShardFile) -> None:
        assert isinstance(shard, _TarShard)
        shard.tar.close()
