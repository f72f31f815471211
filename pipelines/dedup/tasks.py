"""Run-wide dedup as engine tasks: keys → buckets → signatures → links → clusters → decisions.

```
 curate task r ── DedupKeyWriter ──► keys/exact/r    (content key, order, id)   by key hash
                                 └─► keys/bands/r    (band, bucket, order)      by bucket hash
 exact task p   ── ExactKeyLinks ──► links/exact-p   first copy → other copies
```
With the near_dedup stage's ``boilerplate`` on, curate tasks send page lines instead of band rows,
and the band rows come from a signing phase after the line statistics
(:mod:`pipelines.stages.boilerplate`):
```
 curate task r ── DedupKeyWriter ──► keys/lines/r    (site, line, anchor, words, task) by line hash
 line task p    ── BoilerplateLines ► boilerplate/p  boilerplate lines, by curate task carrying them
 sign task r    ── BoilerplateFreeSignatures ─► signed/r (order, id, signature of the text without
                                    boilerplate) └─► keys/bands/r (band, bucket, order) by bucket hash
                  (from the word hashes, line word counts and line keys curate task r staged)
```
and then, either way:
```
 bucket task p  ── LshBuckets ─────► candidates/p    rows of buckets with 2+ members, by curate task
 fetch task r   ── CandidateSignatures ─► verify/r   the same rows with id and signature (staging r,
                                                     or signed/r)
 verify task p  ── BucketVerifier ─► links/near-p    verified links (leader clustering per bucket)
 component tasks (:mod:`pipelines.dedup.components`): connected components of the links in
                  rounds of P tasks ─► decisions/p (duplicate_of, reason; row groups by curate task)
 write task r   ── DuplicateMarker (marks the duplicates of curate task r)
```
Partitioned hand-over (:mod:`pipelines.dedup.partitions`) means no task holds more than its share
of the run's keys: a bucket task holds 1/P of the band rows, a fetch task one input unit's
candidates, a component task 1/P of the links' nodes and edges. The decision rule itself is
:mod:`pipelines.stages.dedup`'s.

Each partitioned hand-over is a channel (:data:`EXACT_KEYS`, :data:`LINES`, :data:`BOILERPLATE`,
:data:`BAND_ROWS`, :data:`CANDIDATES`, :data:`VERIFY_ROWS`): the steps that produce it name it in
``sends``, the task that reads it in ``receives``, so an engine may carry the rows itself (a
:class:`Shuffle`) instead of the layout's files (the Beam engine does); the tasks' logic is the
same either way.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from connectors.reader import ORDER_TASK_SHIFT
from pipelines.dedup.partitions import (
    Shuffle,
    concat_partition,
    hash_partition,
    read_partition,
    split_partitions,
    write_atomically,
    write_partitioned,
)
from pipelines.sinks.staging import staged_path
from pipelines.stages.boilerplate import (
    LINE_DTYPE,
    BoilerplateFreeSigner,
    BoilerplateParams,
    PageWords,
    boilerplate_lines,
    distinct_rows,
    flagged_lines,
    page_line_words,
    page_rows,
    site_of,
)
from pipelines.stages.dedup import (
    CONTENT_KEY_BYTES,
    Links,
    NearDedupParams,
    band_buckets,
    binary_values,
    bucket_links,
    concat_links,
    exact_links,
    fixed_width_column,
)
from pipelines.stages.tokens import words_of
from schemas.document import (
    CONTENT_KEY,
    DUPLICATE_OF,
    LINE_KEYS,
    LINE_WORDS,
    MINHASH,
    ORDER,
    WORD_HASHES,
    Status,
    is_kept,
    set_fate,
)

MAX_PARTITIONS = 256  # dedup partitions of a run: min(tasks, this)
_SIGNATURE_BATCH = 8192  # documents whose band buckets a curate task computes at once
_SIGN_BATCH = 2048  # staged documents whose words a sign task holds at once

EXACT_KEYS_SCHEMA = pa.schema(
    [
        pa.field(CONTENT_KEY, pa.binary(CONTENT_KEY_BYTES), nullable=False),
        pa.field("order", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
    ]
)
BAND_ROWS_SCHEMA = pa.schema(
    [
        pa.field("band", pa.uint16(), nullable=False),
        pa.field("bucket", pa.uint64(), nullable=False),
        pa.field("order", pa.int64(), nullable=False),
    ]
)
LINES_SCHEMA = pa.schema(
    [
        pa.field("site", pa.uint64(), nullable=False),
        pa.field("line", pa.uint64(), nullable=False),
        pa.field("anchor", pa.uint64(), nullable=False),
        pa.field("words", pa.uint16(), nullable=False),
        pa.field("task", pa.int32(), nullable=False),
    ]
)
BOILERPLATE_SCHEMA = pa.schema([pa.field("line", pa.uint64(), nullable=False)])
SIGNED_SCHEMA = pa.schema(
    [
        pa.field("order", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field(MINHASH, pa.binary()),
    ]
)
VERIFY_SCHEMA = pa.schema(
    [*BAND_ROWS_SCHEMA, pa.field("id", pa.string(), nullable=False), pa.field(MINHASH, pa.binary())]
)
LINKS_SCHEMA = pa.schema(
    [
        pa.field("earlier", pa.int64(), nullable=False),
        pa.field("earlier_id", pa.string(), nullable=False),
        pa.field("later", pa.int64(), nullable=False),
        pa.field("later_id", pa.string(), nullable=False),
    ]
)
DECISIONS_SCHEMA = pa.schema(
    [
        pa.field("task", pa.int32(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

# The partitioned hand-overs between dedup steps (channels): partition p of a channel goes to task p
EXACT_KEYS = "exact-keys"  # curate → exact tasks, by content key hash
LINES = "lines"  # curate → line tasks, by line hash
BOILERPLATE = "boilerplate"  # line tasks → sign tasks, by curate task
BAND_ROWS = "band-rows"  # curate (or sign tasks, with boilerplate) → bucket tasks, by bucket hash
CANDIDATES = "candidates"  # bucket tasks → fetch tasks, by curate task
VERIFY_ROWS = "verify-rows"  # fetch tasks → verify tasks, by bucket hash


def dedup_partitions(tasks: int) -> int:
    """How many partitions (and so tasks) the run-wide dedup phases use for ``tasks`` input units."""
    return max(1, min(tasks, MAX_PARTITIONS))


class DedupLayout:
    """Where the dedup phases of one run keep their files (under the run's work folder)."""

    def __init__(self, root: str | Path, tasks: int, partitions: int):
        self.root = Path(root)
        self.tasks = tasks
        self.partitions = partitions

    def exact_keys(self, rank: int) -> Path:
        return self.root / "keys" / "exact" / f"{rank:05d}.parquet"

    def band_rows(self, rank: int) -> Path:
        return self.root / "keys" / "bands" / f"{rank:05d}.parquet"

    def lines(self, rank: int) -> Path:
        return self.root / "keys" / "lines" / f"{rank:05d}.parquet"

    def boilerplate(self, partition: int) -> Path:
        return self.root / "boilerplate" / f"{partition:05d}.parquet"

    @property
    def signed(self) -> Path:
        """The folder of the sign tasks' signatures, one file per input unit (as the staging area)."""
        return self.root / "signed"

    def candidates(self, partition: int) -> Path:
        return self.root / "candidates" / f"{partition:05d}.parquet"

    def verify(self, rank: int) -> Path:
        return self.root / "verify" / f"{rank:05d}.parquet"

    def links(self, kind: str, partition: int) -> Path:
        return self.root / "links" / f"{kind}-{partition:05d}.parquet"

    def component_nodes(self, partition: int) -> Path:
        return self.root / "components" / "nodes" / f"{partition:05d}.parquet"

    def component_edges(self, round_: int, partition: int) -> Path:
        return self.root / "components" / f"edges-{round_}" / f"{partition:05d}.parquet"

    def residual_edges(self, partition: int) -> Path:
        return self.root / "components" / "residual" / f"{partition:05d}.parquet"

    @property
    def residual_roots(self) -> Path:
        return self.root / "components" / "residual-roots.parquet"

    def members(self, partition: int) -> Path:
        return self.root / "components" / "members" / f"{partition:05d}.parquet"

    def decisions_part(self, partition: int) -> Path:
        """Decisions task ``partition``'s duplicates, one row group per input unit."""
        return self.root / "decisions" / f"{partition:05d}.parquet"

    @property
    def decisions(self) -> Path:
        """The decisions files' Parquet summary (``_metadata``), written once they are all there."""
        return self.root / "decisions" / "_metadata"


def task_of(orders: np.ndarray) -> np.ndarray:
    """The curate task (input unit) a document came from, by its input order."""
    return (np.asarray(orders, dtype=np.int64) >> ORDER_TASK_SHIFT).astype(np.int64)


def _links_table(links: Links, ids_by_order: tuple[np.ndarray, pa.Array]) -> pa.Table:
    orders, ids = ids_by_order
    earlier, later = links
    return pa.table(
        [
            pa.array(earlier, pa.int64()),
            ids.take(pa.array(np.searchsorted(orders, earlier))),
            pa.array(later, pa.int64()),
            ids.take(pa.array(np.searchsorted(orders, later))),
        ],
        schema=LINKS_SCHEMA,
    )


def _ids_by_order(orders: np.ndarray, ids: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Sorted unique orders and the id of each, for looking ids up by order."""
    unique, first = np.unique(orders, return_index=True)
    return unique, ids.take(pa.array(first))


class _HandsOver:
    """A step that hands partitioned rows over: through the layout's files, or through ``shuffle``
    when the engine carries them (set by the engine on the task's copy of the step)."""

    sends: tuple[str, ...] = ()  # channels this step writes
    receives: str | None = None  # the channel whose partition ``rank`` this step reads
    shuffle: Shuffle | None = None

    def send(self, channel: str, path: Path, table: pa.Table, partition: np.ndarray) -> None:
        """Hand ``table`` over on ``channel``, row ``i`` to task ``partition[i]``."""
        if self.shuffle is None:
            write_partitioned(path, table, partition)
        else:
            self.shuffle.sent.extend((channel, p, rows) for p, rows in split_partitions(table, partition))

    def received(self, paths: Iterable[Path], rank: int, schema: pa.Schema) -> pa.Table:
        """Partition ``rank`` of the ``receives`` channel, from every producer (``paths``: their files)."""
        if self.shuffle is not None and self.shuffle.received is not None:
            return concat_partition(self.shuffle.received, schema)
        return read_partition(paths, rank, schema)


class _DedupTask(_HandsOver, PipelineStep):
    """A task of a dedup phase: reads and writes the layout's files; passes no documents on."""

    type = "dedup"

    def __init__(self, layout: DedupLayout):
        super().__init__()
        self.layout = layout

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        with self.track_time():
            self.task(rank)
        return iter(())

    @abstractmethod
    def task(self, rank: int) -> None:
        """Do the work of partition or input unit ``rank``: read its input files, write its output."""


def band_rows_table(signatures: list[bytes], orders: list[int], near: NearDedupParams) -> pa.Table:
    """The LSH band rows (:data:`BAND_ROWS_SCHEMA`) of signed documents: one per band and document."""
    values = np.frombuffer(b"".join(signatures), "<u4").reshape(len(signatures), near.num_perm)
    buckets = [band_buckets(values, band, near.rows) for band in range(near.bands)]
    return pa.table(
        [
            pa.array(np.repeat(np.arange(near.bands, dtype=np.uint16), len(signatures))),
            pa.array(np.concatenate(buckets) if buckets else np.empty(0, np.uint64)),
            pa.array(np.tile(np.asarray(orders, dtype=np.int64), near.bands)),
        ],
        schema=BAND_ROWS_SCHEMA,
    )


class _BandRows:
    """Collects the signatures of documents and turns them into band rows, a batch at a time."""

    def __init__(self, near: NearDedupParams):
        self.near = near
        self.tables: list[pa.Table] = []
        self.signatures: list[bytes] = []
        self.orders: list[int] = []

    def add(self, signature: bytes, order: int) -> None:
        self.signatures.append(signature)
        self.orders.append(order)
        if len(self.signatures) >= _SIGNATURE_BATCH:
            self._flush()

    def _flush(self) -> None:
        self.tables.append(band_rows_table(self.signatures, self.orders, self.near))
        self.signatures, self.orders = [], []

    def table(self) -> pa.Table:
        self._flush()
        return pa.concat_tables(self.tables)

    def partitions(self, table: pa.Table, partitions: int) -> np.ndarray:
        return hash_partition(table.column("bucket").to_numpy(), partitions)


class DedupKeyWriter(_HandsOver, PipelineStep):
    """End of a curate task: the dedup keys of its kept documents, partitioned for the dedup tasks.

    ``near``: send LSH band rows of the signatures computed in this task. ``lines``: send the
    documents' lines for the boilerplate statistics instead (near dedup signs after them).
    """

    type = "dedup"
    name = "dedup keys"

    def __init__(self, layout: DedupLayout, exact: bool, near: NearDedupParams | None, lines: bool = False):
        super().__init__()
        self.layout = layout
        self.exact = exact
        self.near = near
        self.lines = lines
        self.sends = (
            *((EXACT_KEYS,) if exact else ()),
            *((BAND_ROWS,) if near is not None else ()),
            *((LINES,) if lines else ()),
        )

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        keys: list[bytes] = []
        key_orders: list[int] = []
        key_ids: list[str] = []
        bands = _BandRows(self.near) if self.near is not None else None
        lines: list[np.ndarray] = []
        for doc in data:
            meta = doc.metadata
            if is_kept(doc):
                if self.exact and meta.get(CONTENT_KEY) is not None:
                    keys.append(meta[CONTENT_KEY])
                    key_orders.append(meta[ORDER])
                    key_ids.append(doc.id)
                if bands is not None and meta.get(MINHASH) is not None:
                    bands.add(meta[MINHASH], meta[ORDER])
                if self.lines:
                    # the page's lines for the line statistics, and what its sign task needs
                    words = words_of(doc.text)
                    forms, form_keys, line_words = page_line_words(words)
                    lines.append(page_rows(forms, form_keys, line_words, site_of(meta)))
                    meta[LINE_KEYS] = form_keys.tobytes()
                    meta[LINE_WORDS] = line_words.tobytes()
                    meta[WORD_HASHES] = words.hashes.astype("<u8", copy=False).tobytes()
                    if len(lines) >= _SIGNATURE_BATCH:
                        lines = [distinct_rows(np.concatenate(lines))]
            yield doc
        with self.track_time():
            if self.exact:
                table = pa.table(
                    [pa.array(keys, pa.binary(CONTENT_KEY_BYTES)), pa.array(key_orders, pa.int64()), key_ids],
                    schema=EXACT_KEYS_SCHEMA,
                )
                first_words = np.frombuffer(b"".join(keys), "<u8")[::2]  # each key's first 8 bytes
                partition = hash_partition(first_words, self.layout.partitions)
                self.send(EXACT_KEYS, self.layout.exact_keys(rank), table, partition)
            if bands is not None:
                table = bands.table()
                self.send(
                    BAND_ROWS,
                    self.layout.band_rows(rank),
                    table,
                    bands.partitions(table, self.layout.partitions),
                )
            if self.lines:
                # a unit's documents with the same anchor count once: their rows are the same
                rows = distinct_rows(np.concatenate([*lines, np.empty(0, LINE_DTYPE)]))
                table = pa.table(
                    [
                        *(pa.array(rows[name]) for name in LINE_DTYPE.names),
                        pa.array(np.full(rows.size, rank, np.int32)),
                    ],
                    schema=LINES_SCHEMA,
                )
                partition = hash_partition(rows["line"], self.layout.partitions)
                self.send(LINES, self.layout.lines(rank), table, partition)


class BoilerplateLines(_DedupTask):
    """Line task ``p``: which lines of partition ``p`` are boilerplate; sends each curate task the
    boilerplate lines its documents carry."""

    name = "boilerplate lines"
    receives = LINES
    sends = (BOILERPLATE,)

    def __init__(self, layout: DedupLayout, params: BoilerplateParams):
        super().__init__(layout)
        self.params = params

    def task(self, rank: int) -> None:
        layout = self.layout
        table = self.received((layout.lines(r) for r in range(layout.tasks)), rank, LINES_SCHEMA)
        rows = np.empty(table.num_rows, dtype=LINE_DTYPE)
        for name in LINE_DTYPE.names:
            rows[name] = table.column(name).to_numpy()
        boilerplate = boilerplate_lines(rows, self.params)
        self.stat_update("boilerplate_lines", value=boilerplate.size)
        carried = flagged_lines(rows["line"], boilerplate)
        tasks, lines = table.column("task").to_numpy()[carried].astype(np.int64), rows["line"][carried]
        by_task = np.lexsort((lines, tasks))  # distinct (task, line) pairs, sorted
        tasks, lines = tasks[by_task], lines[by_task]
        new = np.ones(tasks.size, dtype=bool)
        new[1:] = (tasks[1:] != tasks[:-1]) | (lines[1:] != lines[:-1])
        out = pa.table([pa.array(lines[new])], schema=BOILERPLATE_SCHEMA)
        self.send(BOILERPLATE, layout.boilerplate(rank), out, tasks[new])


def staged_page_words(kept: pa.RecordBatch | pa.Table) -> PageWords:
    """The :class:`PageWords` of staged kept documents, from the columns their curate task staged."""

    def values(name: str, dtype: str) -> tuple[np.ndarray, np.ndarray]:
        """The column's values one after another as ``dtype``, and how many each document has."""
        column = kept.column(name)
        if column.null_count:
            raise ValueError(f"staged kept documents lack {name!r}: curate did not stage their lines")
        data, sizes = binary_values(column)
        return data.view(dtype), sizes // np.dtype(dtype).itemsize

    hashes, words = values(WORD_HASHES, "<u8")
    line_words, lines = values(LINE_WORDS, "<u4")
    keys, _ = values(LINE_KEYS, "<u8")
    return PageWords(hashes=hashes, words=words, line_words=line_words, line_keys=keys, lines=lines)


class BoilerplateFreeSignatures(_DedupTask):
    """Sign task ``r``: signs the kept documents of curate task ``r`` without their boilerplate lines;
    writes their signatures (for the fetch task) and sends their LSH band rows."""

    name = "boilerplate-free signatures"
    receives = BOILERPLATE
    sends = (BAND_ROWS,)

    def __init__(
        self, layout: DedupLayout, staging_dir: str, near: NearDedupParams, params: BoilerplateParams
    ):
        super().__init__(layout)
        self.staging_dir = staging_dir
        self.near = near
        self.params = params

    def task(self, rank: int) -> None:
        layout = self.layout
        received = self.received(
            (layout.boilerplate(p) for p in range(layout.partitions)), rank, BOILERPLATE_SCHEMA
        )
        boilerplate = np.unique(received.column("line").to_numpy())
        signer = BoilerplateFreeSigner(self.near, self.params)
        bands = _BandRows(self.near)
        signed: list[pa.Table] = []
        staged = pq.ParquetFile(staged_path(self.staging_dir, rank))
        columns = ["order", "id", "status", WORD_HASHES, LINE_WORDS, LINE_KEYS]
        for batch in staged.iter_batches(batch_size=_SIGN_BATCH, columns=columns):
            kept = batch.filter(pc.equal(batch.column("status"), str(Status.KEPT)))
            signatures = signer.signatures(staged_page_words(kept), boilerplate)
            for signature, order in zip(signatures, kept.column("order").to_pylist(), strict=True):
                if signature is not None:
                    bands.add(signature, order)
                else:
                    self.stat_update("too_few_words_left")
            signed.append(
                pa.table(
                    [kept.column("order"), kept.column("id"), pa.array(signatures, pa.binary())],
                    schema=SIGNED_SCHEMA,
                )
            )
        write_atomically(staged_path(layout.signed, rank), SIGNED_SCHEMA, signed)
        table = bands.table()
        self.send(BAND_ROWS, layout.band_rows(rank), table, bands.partitions(table, layout.partitions))


class ExactKeyLinks(_DedupTask):
    """Exact task ``p``: links every copy of a content key in partition ``p`` to its first copy."""

    name = "exact links"
    receives = EXACT_KEYS

    def task(self, rank: int) -> None:
        layout = self.layout
        table = self.received((layout.exact_keys(r) for r in range(layout.tasks)), rank, EXACT_KEYS_SCHEMA)
        orders = table.column("order").to_numpy()
        _, digests = fixed_width_column(table, CONTENT_KEY, CONTENT_KEY_BYTES)
        links = exact_links(orders, digests)
        self.stat_update("exact_links", value=len(links[0]))
        ids = _ids_by_order(orders, table.column("id").combine_chunks())
        write_atomically(layout.links("exact", rank), LINKS_SCHEMA, [_links_table(links, ids)])


class LshBuckets(_DedupTask):
    """Bucket task ``p``: the band rows of partition ``p`` whose bucket has 2+ members, by curate task."""

    name = "lsh buckets"
    receives = BAND_ROWS
    sends = (CANDIDATES,)

    def task(self, rank: int) -> None:
        layout = self.layout
        table = self.received((layout.band_rows(r) for r in range(layout.tasks)), rank, BAND_ROWS_SCHEMA)
        band = table.column("band").to_numpy()
        bucket = table.column("bucket").to_numpy()
        by_bucket = np.lexsort((bucket, band))
        same = (band[by_bucket][1:] == band[by_bucket][:-1]) & (
            bucket[by_bucket][1:] == bucket[by_bucket][:-1]
        )
        shared = np.zeros(by_bucket.size, dtype=bool)
        shared[1:] |= same
        shared[:-1] |= same
        candidates = table.take(pa.array(np.sort(by_bucket[shared])))
        self.stat_update("candidate_rows", value=candidates.num_rows)
        partition = task_of(candidates.column("order").to_numpy())
        self.send(CANDIDATES, layout.candidates(rank), candidates, partition)


class CandidateSignatures(_DedupTask):
    """Fetch task ``r``: adds id and signature (from curate task ``r``'s staging) to its candidate rows."""

    name = "candidate signatures"
    receives = CANDIDATES
    sends = (VERIFY_ROWS,)

    def __init__(self, layout: DedupLayout, staging_dir: str):
        super().__init__(layout)
        self.staging_dir = staging_dir

    def task(self, rank: int) -> None:
        layout = self.layout
        candidates = self.received(
            (layout.candidates(p) for p in range(layout.partitions)), rank, BAND_ROWS_SCHEMA
        )
        wanted = candidates.column("order")
        staged = pq.read_table(staged_path(self.staging_dir, rank), columns=["order", "id", MINHASH])
        staged = staged.filter(pc.is_in(staged.column("order"), value_set=pc.unique(wanted)))
        staged_orders = staged.column("order").to_numpy()
        by_order = np.argsort(staged_orders, kind="stable")
        rows = by_order[np.searchsorted(staged_orders, wanted.to_numpy(), sorter=by_order)]
        joined = staged.take(pa.array(rows))
        table = pa.table(
            [*candidates.columns, joined.column("id"), joined.column(MINHASH)], schema=VERIFY_SCHEMA
        )
        partition = hash_partition(candidates.column("bucket").to_numpy(), layout.partitions)
        self.send(VERIFY_ROWS, layout.verify(rank), table, partition)


class BucketVerifier(_DedupTask):
    """Verify task ``p``: verified links within the buckets of partition ``p`` (leader clustering)."""

    name = "verify buckets"
    receives = VERIFY_ROWS

    def __init__(self, layout: DedupLayout, near: NearDedupParams):
        super().__init__(layout)
        self.near = near

    def task(self, rank: int) -> None:
        layout = self.layout
        table = self.received((layout.verify(r) for r in range(layout.tasks)), rank, VERIFY_SCHEMA)
        orders = table.column("order").to_numpy()
        bands = table.column("band").to_numpy()
        buckets = table.column("bucket").to_numpy()
        _, signatures = fixed_width_column(table, MINHASH, 4 * self.near.num_perm)
        signatures = signatures.view("<u4")
        links: list[Links] = []
        for band in np.unique(bands):
            rows = np.flatnonzero(bands == band)
            links.append(bucket_links(orders[rows], buckets[rows], signatures[rows], self.near.threshold))
        earlier, later = concat_links(links)
        if earlier.size:  # a pair of copies shares most bands: keep each link once
            pairs = np.unique(np.stack([earlier, later], axis=1), axis=0)
            earlier, later = pairs[:, 0], pairs[:, 1]
        self.stat_update("near_links", value=earlier.size)
        ids = _ids_by_order(orders, table.column("id").combine_chunks())
        write_atomically(layout.links("near", rank), LINKS_SCHEMA, [_links_table((earlier, later), ids)])


class DuplicateMarker(PipelineStep):
    """Write task ``r``: marks the documents of curate task ``r`` that the decisions tasks found
    duplicate (its row groups of every decisions file)."""

    type = "dedup"
    name = "duplicates"

    def __init__(self, layout: DedupLayout):
        super().__init__()
        self.layout = layout

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        layout = self.layout
        paths = (layout.decisions_part(p) for p in range(layout.partitions))
        table = read_partition(paths, rank, DECISIONS_SCHEMA)
        decisions = dict(
            zip(
                table.column("id").to_pylist(),
                zip(
                    table.column("duplicate_of").to_pylist(), table.column("reason").to_pylist(), strict=True
                ),
                strict=True,
            )
        )
        for doc in data:
            decision = decisions.get(doc.id)
            if decision is not None and is_kept(doc):
                set_fate(doc, Status.DUPLICATE, decision[1], **{DUPLICATE_OF: decision[0]})
                self.stat_update(decision[1])
            yield doc
