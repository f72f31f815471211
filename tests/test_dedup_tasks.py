"""Run-wide dedup as tasks: partitioned hand-over, and the same decisions as the one-process rule."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash
from datatrove.data import Document

from connectors.reader import ORDER_TASK_SHIFT
from pipelines.dedup.components import component_phases, read_decisions
from pipelines.dedup.partitions import hash_partition, read_partition, write_partitioned
from pipelines.dedup.tasks import (
    BucketVerifier,
    CandidateSignatures,
    DedupKeyWriter,
    DedupLayout,
    DuplicateMarker,
    ExactKeyLinks,
    LshBuckets,
)
from pipelines.sinks.staging import staged_path
from pipelines.stages.dedup import MinHasher, NearDedupParams, find_duplicates
from schemas.document import CONTENT_KEY, DUPLICATE_OF, MINHASH, ORDER, REASON, STATUS, Status

PARAMS = NearDedupParams(bands=6, rows=3, threshold=0.7)


def variant_families(count: int, params: NearDedupParams, seed: int = 6) -> list[Document]:
    """Kept documents with dedup keys, in families of variants (0-4 words changed; some exact copies)."""
    rng = random.Random(seed)
    hasher = MinHasher(params)
    vocabulary = [f"w{i}" for i in range(500)]
    texts = []
    for _ in range(count // 5):
        base = [rng.choice(vocabulary) for _ in range(60)]
        for _ in range(5):
            variant = base[:]
            for _ in range(rng.randint(0, 4)):
                variant[rng.randrange(len(variant))] = rng.choice(vocabulary)
            texts.append(variant)
    rng.shuffle(texts)
    signatures = hasher.signatures([hasher.word_hashes(words) for words in texts])
    return [
        Document(
            text=" ".join(words),
            id=f"d{i}",
            metadata={
                STATUS: Status.KEPT,
                CONTENT_KEY: xxhash.xxh3_128_digest(" ".join(words).encode()),
                MINHASH: signature.tobytes(),
            },
        )
        for i, (words, signature) in enumerate(zip(texts, signatures, strict=True))
    ]


def run_tasks(
    docs: list[Document], tasks: int, partitions: int, tmp: Path, exact=True, near=PARAMS
) -> pa.Table:
    """The dedup phases as an engine runs them, task by task; returns the decisions."""
    layout = DedupLayout(tmp / "dedup", tasks, partitions)
    staging = tmp / "staged"
    per_task: list[list[Document]] = [[] for _ in range(tasks)]
    for i, doc in enumerate(docs):  # input order: documents dealt round-robin to the input units
        rank = i % tasks
        doc.metadata[ORDER] = (rank << ORDER_TASK_SHIFT) | len(per_task[rank])
        per_task[rank].append(doc)
    for rank, task_docs in enumerate(per_task):
        assert len(list(DedupKeyWriter(layout, exact, near).run(iter(task_docs), rank))) == len(task_docs)
        staged_path(staging, rank).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "order": pa.array([d.metadata[ORDER] for d in task_docs], pa.int64()),
                    "id": [d.id for d in task_docs],
                    MINHASH: pa.array([d.metadata[MINHASH] for d in task_docs], pa.binary()),
                }
            ),
            staged_path(staging, rank),
        )
    kinds = []
    if exact:
        for p in range(partitions):
            ExactKeyLinks(layout).run(None, p)
        kinds.append("exact")
    if near is not None:
        for p in range(partitions):
            LshBuckets(layout).run(None, p)
        for rank in range(tasks):
            CandidateSignatures(layout, str(staging)).run(None, rank)
        for p in range(partitions):
            BucketVerifier(layout, near).run(None, p)
        kinds.append("near")
    for phase in component_phases(layout, tuple(kinds), ()):
        for rank in range(phase.tasks):
            phase.pipeline[0].run(None, rank)
    return read_decisions(layout)


def reference(docs: list[Document], exact=True, near=PARAMS) -> pa.Table:
    keys = pa.table(
        {
            "id": [d.id for d in docs],
            "order": pa.array([d.metadata[ORDER] for d in docs], pa.int64()),
            CONTENT_KEY: pa.array([d.metadata[CONTENT_KEY] for d in docs], pa.binary()),
            MINHASH: pa.array([d.metadata[MINHASH] for d in docs], pa.binary()),
        }
    )
    return find_duplicates(keys, near, exact)


def as_dict(table: pa.Table) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["duplicate_of"], r["reason"]) for r in table.to_pylist()}


@pytest.mark.parametrize(("tasks", "partitions"), [(1, 1), (4, 1), (4, 3), (5, 7)])
def test_tasks_decide_as_the_one_process_rule(tmp_path: Path, tasks: int, partitions: int) -> None:
    docs = variant_families(400, PARAMS)
    decisions = run_tasks(docs, tasks, partitions, tmp_path)
    expected = reference(docs)
    assert expected.num_rows > 150  # families of 5: most members are duplicates
    assert as_dict(decisions) == as_dict(expected)
    assert decisions.column("task").to_pylist() == sorted(decisions.column("task").to_pylist())


@pytest.mark.parametrize(("exact", "near"), [(True, None), (False, PARAMS)])
def test_one_dedup_kind_alone(tmp_path: Path, exact: bool, near: NearDedupParams | None) -> None:
    docs = variant_families(200, PARAMS, seed=3)
    decisions = run_tasks(docs, 3, 2, tmp_path, exact=exact, near=near)
    assert as_dict(decisions) == as_dict(reference(docs, exact=exact, near=near))
    reasons = set(decisions.column("reason").to_pylist())
    assert reasons == ({"exact_dedup:content_hash"} if exact else {"near_dedup:minhash"})


def test_marker_marks_only_its_tasks_kept_documents(tmp_path: Path) -> None:
    docs = variant_families(100, PARAMS)
    decisions = run_tasks(docs, 2, 2, tmp_path)
    layout = DedupLayout(tmp_path / "dedup", 2, 2)
    task1 = [d for d in docs if d.metadata[ORDER] >> ORDER_TASK_SHIFT == 1]
    task1[0].metadata[STATUS] = Status.FILTERED  # a filtered document is never made a duplicate
    marked = list(DuplicateMarker(layout).run(iter(task1), rank=1))
    expected = {r["id"]: r for r in decisions.to_pylist() if r["task"] == 1}
    duplicates = {d.id: d for d in marked if d.metadata[STATUS] == Status.DUPLICATE}
    assert set(duplicates) == set(expected) - {task1[0].id}
    for doc_id, doc in duplicates.items():
        assert doc.metadata[DUPLICATE_OF] == expected[doc_id]["duplicate_of"]
        assert doc.metadata[REASON] == expected[doc_id]["reason"]


def test_partitioned_files_hand_each_partition_its_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 2**64, size=1000, dtype=np.uint64)
    schema = pa.schema([pa.field("key", pa.uint64()), pa.field("row", pa.int64())])
    partitions = hash_partition(keys, 5)
    assert set(partitions.tolist()) == set(range(5))
    paths = []
    for producer in range(3):
        rows = np.arange(producer, 1000, 3)
        paths.append(tmp_path / f"{producer}.parquet")
        table = pa.table([pa.array(keys[rows]), pa.array(rows)], schema=schema)
        write_partitioned(paths[-1], table, partitions[rows])
    seen = []
    for p in range(5):
        part = read_partition(paths, p, schema)
        rows = part.column("row").to_numpy()
        assert np.all(partitions[rows] == p)
        seen.extend(rows.tolist())
    assert sorted(seen) == list(range(1000))
    with pytest.raises(FileNotFoundError, match="did not write"):
        read_partition([tmp_path / "missing.parquet"], 0, schema)
    write_partitioned(tmp_path / "empty.parquet", schema.empty_table(), np.empty(0, np.int64))
    assert read_partition([tmp_path / "empty.parquet"], 0, schema).num_rows == 0
