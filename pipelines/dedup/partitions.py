"""Partitioned files: how the rows of one phase's tasks reach the tasks of the next.

Run-wide work (dedup buckets, exact keys) is split by a hash into partitions, and each partition
is one task. A producing task writes *one* Parquet file whose row groups each hold rows of one
partition, in partition order, and records in the file's metadata which partition each row group
holds; the task of partition ``p`` reads those row groups from every producer's file. So a phase
of ``N`` tasks feeding ``P`` partitions writes ``N`` files, not ``N x P``, and no task ever holds
more than its own partition.

Files are written under a temporary name and renamed into place, so a partially written file is
never read; every producer writes its file even when it has no rows, so a missing file means a
producer did not finish (an error), never an empty partition.

An engine can carry the rows itself instead (Beam: a ``GroupByKey`` on the partition number), for
runners whose workers share no filesystem between phases. A step that writes partitioned rows
names its ``sends`` channels, a step that reads them names the channel it ``receives``; the engine
gives each task one :class:`Shuffle`, which collects what the task sends (split by
:func:`split_partitions`, the same rows per partition as a file holds) and holds what it receives
(joined by :func:`concat_partition`, as :func:`read_partition` joins file rows). So the steps'
logic is the same on both paths; only where the rows travel differs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PARTITIONS_KEY = b"jaif.partitions"  # JSON list: the partition of each row group
MAX_GROUP_ROWS = 1 << 20


def write_partitioned(path: Path, table: pa.Table, partition: np.ndarray) -> None:
    """Write ``table`` to ``path`` grouped by ``partition`` (one int per row), stable within a partition."""
    if len(partition) != table.num_rows:
        raise ValueError(f"{len(partition)} partition numbers for {table.num_rows} rows")
    by_partition = np.argsort(partition, kind="stable")
    parts = np.asarray(partition)[by_partition]
    table = table.take(pa.array(by_partition))
    cuts = np.flatnonzero(np.diff(parts)) + 1
    groups: list[tuple[int, int, int]] = []  # (partition, start, rows)
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, parts.size], strict=True):
        for first in range(int(start), int(stop), MAX_GROUP_ROWS):
            groups.append((int(parts[start]), first, min(MAX_GROUP_ROWS, int(stop) - first)))
    metadata = {PARTITIONS_KEY: json.dumps([g[0] for g in groups]).encode()}
    write_atomically(path, table.schema.with_metadata(metadata), (table.slice(s, n) for _, s, n in groups))


def write_atomically(path: Path, schema: pa.Schema, tables: Iterable[pa.Table]) -> None:
    """Write ``tables`` (each one row group; empty ones skipped) to a temporary file, renamed to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
        for table in tables:
            if table.num_rows:
                writer.write_table(
                    table.replace_schema_metadata(schema.metadata), row_group_size=table.num_rows
                )
    os.replace(temporary, path)


def read_partition(paths: Iterable[Path], partition: int, schema: pa.Schema) -> pa.Table:
    """The rows of ``partition`` from every file in ``paths`` (in the order given), as ``schema``."""
    tables = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: a task of the previous phase did not write its output")
        parquet = pq.ParquetFile(path)
        groups = [
            i
            for i, p in enumerate(json.loads(parquet.schema_arrow.metadata[PARTITIONS_KEY]))
            if p == partition
        ]
        if groups:
            tables.append(parquet.read_row_groups(groups, columns=schema.names))
    return concat_partition(tables, schema)


def concat_partition(tables: Iterable[pa.Table], schema: pa.Schema) -> pa.Table:
    """One partition's rows from its producers (in producer order) as one table of ``schema``."""
    tables = [t.select(schema.names).replace_schema_metadata(None).cast(schema) for t in tables]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def split_partitions(table: pa.Table, partition: np.ndarray) -> Iterator[tuple[int, pa.Table]]:
    """``(partition, rows)`` for each partition that has rows, in partition order, rows in table order:
    what :func:`write_partitioned` stores and :func:`read_partition` reads back, without a file."""
    if len(partition) != table.num_rows:
        raise ValueError(f"{len(partition)} partition numbers for {table.num_rows} rows")
    by_partition = np.argsort(partition, kind="stable")
    parts = np.asarray(partition)[by_partition]
    cuts = np.flatnonzero(np.diff(parts)) + 1
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, parts.size], strict=True):
        if stop > start:
            yield int(parts[start]), table.take(pa.array(by_partition[start:stop]))


@dataclass(eq=False)
class Shuffle:
    """The partitioned rows of one task when the engine carries them instead of files.

    ``received``: the rows of the task's partition from every producing task, in producer order
    (None: read the files). ``sent``: what the task's steps sent, as ``(channel, partition, rows)``.
    An executor copies a task's pipeline before running it; a Shuffle is shared by those copies,
    not copied, so the engine sees what the copies sent.
    """

    received: list[pa.Table] | None = None
    sent: list[tuple[str, int, pa.Table]] = field(default_factory=list)

    def __deepcopy__(self, memo: dict) -> Shuffle:
        return self


def hash_partition(values: np.ndarray, partitions: int) -> np.ndarray:
    """The partition of each well-mixed 64-bit value (a hash): its high bits scaled to ``partitions``."""
    return ((values.astype(np.uint64) >> np.uint64(32)) * np.uint64(partitions) >> np.uint64(32)).astype(
        np.int64
    )
