"""Appending rows to a Parquet file with a fixed schema, written in record batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


class BatchedParquetFile:
    """Rows go in one at a time; a row group is written every ``batch_rows`` rows or ``batch_bytes``."""

    def __init__(self, path: Path, schema: pa.Schema, batch_rows: int, batch_bytes: int | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = schema
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []
        self._pending_bytes = 0

    def append(self, row: dict[str, Any], nbytes: int = 0) -> None:
        self._rows.append(row)
        self._pending_bytes += nbytes
        full_bytes = self.batch_bytes is not None and self._pending_bytes >= self.batch_bytes
        if len(self._rows) >= self.batch_rows or full_bytes:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows.clear()
            self._pending_bytes = 0

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def __enter__(self) -> BatchedParquetFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
