"""Exact and near-duplicate detection across a whole run.

Dedup works in two steps, so that it covers every task of a run and not just one shard:

1. :class:`DedupSignatures` runs per task, after the other stages. For every kept document it
   stores two keys in the metadata (and never changes a status):

   - ``content_key``: the 16-byte xxh3-128 digest of the *dedup normal form* of the text
     (:func:`normalize_for_dedup`: case-folded, Unicode NFC, every whitespace run one space,
     stripped; the case-folded NFC text is the tokenizer's, so it is computed once). NFC/NFD,
     case and whitespace variants of a text are therefore exact duplicates; punctuation is kept
     (texts that differ in it are left to near dedup).
   - ``minhash``: ``bands * rows`` MinHash values, ``uint32`` little-endian. Shingles are word
     n-grams over the words that the quality stage counts too (:mod:`pipelines.stages.tokens`:
     case-folded NFC text, ``\\w`` runs with inner apostrophes, hyphens and dots), so a document is
     tokenised once for both. Each word is hashed once (:func:`~pipelines.stages.tokens.hash_word`); an
     n-gram's 64-bit hash is the sum of its word hashes times odd per-position constants, mod
     2**64, passed through MurmurHash3's ``fmix64``, and its *key* is the high 32 bits. A text with
     fewer words than ``ngram`` is one shingle; a text without words has no MinHash. Permutation
     ``i`` is ``(a_i * key + b_i) mod 2**32`` with odd ``a_i`` (a bijection of the 32-bit keys),
     and the value kept is the minimum: the share of equal values estimates the Jaccard
     similarity of the shingle sets without bias, with the variance of ideal MinHash.

2. Links, then clusters. Pairs of duplicates are found by key (:func:`exact_links`) and within
   LSH buckets (:func:`band_buckets`, :func:`bucket_links`); :func:`cluster_links` merges all pairs
   into clusters. The engine runs these as tasks over partitions of the keys
   (:mod:`pipelines.dedup`); :func:`find_duplicates` runs them in one process, for tests and
   benchmarks. Both decide the same, because every piece works on input order, never on row order.

The representative rule (what stays kept):

- ``order`` (a unique int64: position in input order) ranks documents; "first" means smallest order.
- Exact links: among documents with the same ``content_key`` each is linked to the first.
- Near links: MinHash-LSH with ``bands`` bands of ``rows`` values. Within each band's bucket
  (documents whose band values are equal) candidates are *verified* before they are linked: a member
  is linked to the bucket's earliest member when the estimated Jaccard similarity (the fraction of
  equal MinHash values over the whole signature) is at least ``threshold``; members that fail form
  the rest of the bucket, whose earliest member is tested against in the next round, and so on
  (leader clustering in input order: O(bucket size x leaders), not O(size^2), and one round when a
  bucket holds one cluster of copies). A pair is only missed when, in every band it shares, some
  earlier leader took one of the two (a member is never tested against a non-leader), which costs
  little recall for a bounded cost on huge buckets. Exact copies have equal signatures, so they
  share every bucket with their first copy and never lead one: they join its cluster and change no
  other link.
- Clusters are the connected components of all links (A~B and B~C put A and C together). A
  cluster's representative is its first member and stays kept; every other member is a duplicate
  of it, with reason ``exact_dedup:content_hash`` when an exact link ends at it, else
  ``near_dedup:minhash``. ``duplicate_of`` therefore always names a document that stays kept.

Speed: signatures are computed for batches of documents at once (the shingle keys of all of them
in one pass over their word hashes, then the permutations over the shingles of many documents in
one block of 32-bit integers, reduced per document with ``minimum.reduceat``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import xxhash
from datatrove.data import Document, DocumentsPipeline

from pipelines.stages.base import CurationStage
from pipelines.stages.tokens import fmix64, hash_words, words_of
from schemas.document import CONTENT_KEY, MINHASH, is_kept

EXACT_REASON = "exact_dedup:content_hash"
NEAR_REASON = "near_dedup:minhash"
CONTENT_KEY_BYTES = 16

KEYS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("order", pa.int64(), nullable=False),
        pa.field(CONTENT_KEY, pa.binary()),
        pa.field(MINHASH, pa.binary()),
    ]
)
DUPLICATES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)

_MAX32 = np.uint32(0xFFFFFFFF)
_SHINGLE_BLOCK = 512  # shingles per permutation block: bounds the (perm x shingle) temporaries
_BATCH_DOCS = 64  # documents whose signatures are computed together
_PAIR_BLOCK = 1 << 16  # candidate pairs compared at once


@dataclass(frozen=True)
class NearDedupParams:
    """MinHash-LSH settings: ``bands * rows`` permutations; links need similarity >= ``threshold``."""

    ngram: int = 5
    bands: int = 14
    rows: int = 8
    threshold: float = 0.75
    seed: int = 1

    def __post_init__(self) -> None:
        if min(self.ngram, self.bands, self.rows) < 1:
            raise ValueError(f"ngram, bands and rows must be >= 1: {self}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1]: {self.threshold}")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must fit in 64 unsigned bits: {self.seed}")

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


DEFAULT_NEAR = NearDedupParams()


def normalize_for_dedup(text: str) -> str:
    """The dedup normal form: case-folded, NFC, whitespace runs collapsed to one space, stripped."""
    return words_of(text).normal_form


def content_key(normalized: str) -> bytes:
    """16-byte xxh3-128 digest of an already normalised text."""
    return xxhash.xxh3_128_digest(normalized.encode("utf-8"))


class MinHasher:
    """MinHash signatures of word sequences under fixed-seed permutations (see the module docstring)."""

    def __init__(self, params: NearDedupParams) -> None:
        self.params = params
        rng = np.random.default_rng(params.seed)
        self._positions = rng.integers(0, 1 << 64, size=params.ngram, dtype=np.uint64) | np.uint64(1)
        self._a = rng.integers(0, 1 << 32, size=(params.num_perm, 1), dtype=np.uint32) | np.uint32(1)
        self._b = rng.integers(0, 1 << 32, size=(params.num_perm, 1), dtype=np.uint32)

    @staticmethod
    def word_hashes(words: Sequence[str]) -> np.ndarray:
        """The hash of each word (:func:`pipelines.stages.tokens.hash_word`, as ``Words.hashes``)."""
        return hash_words(words)

    def shingle_keys(self, hashes: np.ndarray) -> np.ndarray:
        """The uint32 key of each word n-gram, from the words' hashes (one key when there are fewer
        than ``ngram`` words): the n-gram's word hashes weighted by odd per-position constants, summed
        mod 2**64, mixed by :func:`fmix64`; the key is the high 32 bits."""
        n = self.params.ngram
        count = max(hashes.size - n + 1, 1)
        combined = hashes[:count] * self._positions[0]
        for k in range(1, min(n, hashes.size)):
            combined += hashes[k : k + count] * self._positions[k]
        return (fmix64(combined) >> np.uint64(32)).astype(np.uint32)

    def document_shingle_keys(self, hashes: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`shingle_keys` of many documents at once: ``hashes`` are their word hashes one
        document after another, ``lengths`` how many words each has (at least one). Returns every
        document's keys in the same order, and how many keys each has."""
        n = self.params.ngram
        lengths = np.asarray(lengths, dtype=np.int64)
        counts = np.maximum(lengths - n + 1, 1)
        short = lengths < n  # one key from fewer than n words: computed on its own
        ends = np.cumsum(lengths)
        # every window of n consecutive words, but those that run past the end of a document
        combined = hashes * self._positions[0]
        for k in range(1, min(n, hashes.size)):
            combined[:-k] += hashes[k:] * self._positions[k]
        inside = np.ones(hashes.size, dtype=bool)
        long_ends = ends[~short]
        for k in range(1, n):
            inside[long_ends - k] = False
        if not short.any():
            return (fmix64(combined[inside]) >> np.uint64(32)).astype(np.uint32), counts
        inside[np.repeat(short, lengths)] = False
        keys = np.empty(int(counts.sum()), dtype=np.uint32)
        short_keys = np.repeat(short, counts)
        keys[~short_keys] = (fmix64(combined[inside]) >> np.uint64(32)).astype(np.uint32)
        keys[short_keys] = [
            self.shingle_keys(hashes[end - length : end])[0]
            for end, length in zip(ends[short].tolist(), lengths[short].tolist(), strict=True)
        ]
        return keys, counts

    def signature(self, words: Sequence[str]) -> np.ndarray | None:
        """``num_perm`` uint32 MinHash values, or ``None`` for an empty word sequence."""
        return self.signatures([self.word_hashes(words)])[0]

    def signatures(self, hashed: Sequence[np.ndarray]) -> list[np.ndarray | None]:
        """The signature of each document given as its words' hashes (None where it has no words)."""
        lengths = np.fromiter((h.size for h in hashed), dtype=np.int64, count=len(hashed))
        result: list[np.ndarray | None] = [None] * len(hashed)
        if not lengths.any():
            return result
        rows = iter(self.document_signatures(np.concatenate(hashed), lengths[lengths > 0]))
        for i in np.flatnonzero(lengths).tolist():
            result[i] = next(rows)
        return result

    def document_signatures(self, hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The signatures of many documents, one row each (uint32, little-endian), from their word
        hashes one document after another and how many words each has (at least one), computed
        together: the permutations run over the shingles of many documents at once, in cache-sized
        blocks, and each block is reduced per document."""
        keys, counts = self.document_shingle_keys(hashes, lengths)
        doc_starts = np.cumsum(counts) - counts
        mins = np.full((self.params.num_perm, counts.size), _MAX32, dtype=np.uint32)
        block = np.empty((self.params.num_perm, _SHINGLE_BLOCK), dtype=np.uint32)
        for start in range(0, keys.size, _SHINGLE_BLOCK):
            stop = min(start + _SHINGLE_BLOCK, keys.size)
            # documents with shingles in this block, and where each one's shingles start in it
            first, last = np.searchsorted(doc_starts, [start, stop], side="right") - 1
            docs = np.arange(first, last + 1 if doc_starts[last] < stop else last)
            offsets = np.maximum(doc_starts[docs], start) - start
            permuted = self._permute(keys[start:stop], block[:, : stop - start])
            block_mins = np.minimum.reduceat(permuted, offsets, axis=1)
            np.minimum(mins[:, docs], block_mins, out=block_mins)
            mins[:, docs] = block_mins
        return np.ascontiguousarray(mins.astype("<u4").T)

    def _permute(self, keys: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``(a * key + b) mod 2**32`` for every permutation (rows) and key (columns), into ``out``."""
        np.multiply(self._a, keys, out=out)
        out += self._b
        return out


class DedupSignatures(CurationStage):
    """Stores ``content_key`` and ``minhash`` for :func:`find_duplicates`; never changes a status."""

    name = "dedup"
    preload_modules = ("pipelines.stages.tokens",)  # its character table

    def __init__(self, exact: bool = True, near: NearDedupParams | None = DEFAULT_NEAR) -> None:
        super().__init__()
        if not exact and near is None:
            raise ValueError("dedup needs exact=True or near parameters: nothing to compute")
        self.exact = exact
        self.near = near
        self.minhasher = MinHasher(near) if near is not None else None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        """Signs kept documents in batches of :data:`_BATCH_DOCS` (one MinHash computation per batch)."""
        batch: list[Document] = []
        for doc in data:
            batch.append(doc)
            if len(batch) >= _BATCH_DOCS:
                yield from self._signed(batch)
                batch = []
        yield from self._signed(batch)

    def _signed(self, batch: list[Document]) -> list[Document]:
        kept = [doc for doc in batch if is_kept(doc)]
        if kept:
            with self.track_time(unit="batch"):
                self.sign(kept)
            self.stat_update("kept", value=len(kept))
        return batch

    def process(self, doc: Document) -> None:
        self.sign([doc])

    def sign(self, docs: Sequence[Document]) -> None:
        """Store the keys of ``docs`` (kept documents) in their metadata."""
        if self.exact:
            for doc in docs:
                doc.metadata[CONTENT_KEY] = content_key(normalize_for_dedup(doc.text))
        if self.minhasher is not None:
            signatures = self.minhasher.signatures([words_of(doc.text).hashes for doc in docs])
            for doc, signature in zip(docs, signatures, strict=True):
                doc.metadata[MINHASH] = None if signature is None else signature.tobytes()
                if signature is None:
                    self.stat_update("no_words")


def find_duplicates(keys: pa.Table, near: NearDedupParams | None, exact: bool = True) -> pa.Table:
    """Duplicates among the kept documents of a run: ``id, duplicate_of, reason`` (module docstring rule).

    The whole run in one process, from the same pieces the engine's dedup tasks use
    (:func:`exact_links`, :func:`band_buckets`, :func:`bucket_links`, :func:`cluster_links`), so both
    decide the same. ``keys`` has ``id``, ``order`` (unique), and ``content_key`` / ``minhash`` where
    they are used (nullable binary columns, as :class:`DedupSignatures` writes them). Rows come out by
    ``order``.
    """
    if keys.num_rows == 0:
        return DUPLICATES_SCHEMA.empty_table()
    order = _column_numpy(keys, "order").astype(np.int64, copy=False)
    if order.size > 1 and np.unique(order).size != order.size:
        raise ValueError("'order' must be unique: it decides which document is first")
    exact_pairs = near_pairs = _NO_LINKS
    if exact:
        rows, digests = fixed_width_column(keys, CONTENT_KEY, CONTENT_KEY_BYTES)
        exact_pairs = exact_links(order[rows], digests)
    if near is not None:
        rows, signatures = fixed_width_column(keys, MINHASH, 4 * near.num_perm)
        signatures = signatures.view("<u4")
        pairs = [
            bucket_links(order[rows], band_buckets(signatures, band, near.rows), signatures, near.threshold)
            for band in range(near.bands)
        ]
        near_pairs = concat_links(pairs)
    dup, rep, is_exact = cluster_links(exact_pairs, near_pairs)
    by_order = np.argsort(order, kind="stable")
    ids = keys.column("id").cast(pa.string()).combine_chunks()
    row_of = by_order[np.searchsorted(order, dup, sorter=by_order)]
    rep_row = by_order[np.searchsorted(order, rep, sorter=by_order)]
    return pa.table(
        [ids.take(row_of), ids.take(rep_row), pa.array(np.where(is_exact, EXACT_REASON, NEAR_REASON))],
        schema=DUPLICATES_SCHEMA,
    )


Links = tuple[np.ndarray, np.ndarray]  # (earlier orders, later orders): verified duplicate pairs
_NO_LINKS: Links = (np.empty(0, np.int64), np.empty(0, np.int64))


def exact_links(orders: np.ndarray, digests: np.ndarray) -> Links:
    """(first, other) order pairs of documents whose ``digests`` rows (bytes per row) are equal."""
    if orders.size < 2:
        return _NO_LINKS
    words = np.ascontiguousarray(digests).view("<u8")
    by_key = np.lexsort((orders, *words.T[::-1]))
    sorted_words = words[by_key]
    starts = np.ones(by_key.size, dtype=bool)
    starts[1:] = np.any(sorted_words[1:] != sorted_words[:-1], axis=1)
    group_first = np.maximum.accumulate(np.where(starts, np.arange(by_key.size), 0))
    sorted_orders = orders[by_key]
    return sorted_orders[group_first][~starts], sorted_orders[~starts]


def band_buckets(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """The 64-bit LSH bucket of each signature in ``band`` (values ``band*rows`` to ``(band+1)*rows``)."""
    return _band_keys(signatures[:, band * rows : (band + 1) * rows])


def bucket_links(orders: np.ndarray, buckets: np.ndarray, signatures: np.ndarray, threshold: float) -> Links:
    """Verified links within LSH buckets: leader clustering in input order (module docstring).

    ``orders[i]``, ``buckets[i]`` and ``signatures[i]`` describe one document, rows in any order.
    """
    by_bucket = np.lexsort((orders, buckets))
    members, keys = _drop_singletons(by_bucket, buckets[by_bucket])
    earlier, later = [], []
    while members.size:
        starts = np.ones(members.size, dtype=bool)
        starts[1:] = keys[1:] != keys[:-1]
        heads = members[np.maximum.accumulate(np.where(starts, np.arange(members.size), 0))]
        candidates = ~starts
        similar = _similar(signatures, heads[candidates], members[candidates], threshold)
        earlier.append(orders[heads[candidates][similar]])
        later.append(orders[members[candidates][similar]])
        remaining = candidates.copy()
        remaining[candidates] = ~similar
        members, keys = _drop_singletons(members[remaining], keys[remaining])
    return concat_links([(np.asarray(a), np.asarray(b)) for a, b in zip(earlier, later, strict=True)])


def cluster_links(exact: Links, near: Links) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of all links: (duplicate orders, their representative's order, exact?).

    The representative of a component is its smallest order; a duplicate is exact when an exact link
    ends at it. Rows come out by duplicate order.
    """
    a = np.concatenate([exact[0], near[0]]).astype(np.int64, copy=False)
    b = np.concatenate([exact[1], near[1]]).astype(np.int64, copy=False)
    if a.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool)
    nodes, dense = np.unique(np.concatenate([a, b]), return_inverse=True)
    root = merge_links(nodes.size, [(dense[: a.size], dense[a.size :])])
    duplicate = np.flatnonzero(root != np.arange(nodes.size))
    is_exact = np.isin(nodes[duplicate], exact[1])
    return nodes[duplicate], nodes[root[duplicate]], is_exact


def concat_links(links: Sequence[Links]) -> Links:
    if not links:
        return _NO_LINKS
    return (
        np.concatenate([pair[0] for pair in links]).astype(np.int64, copy=False),
        np.concatenate([pair[1] for pair in links]).astype(np.int64, copy=False),
    )


def merge_links(size: int, links: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Union-find over links from any bands: each index's component root, the component's minimum."""
    root = np.arange(size)
    if not links:
        return root
    a = np.concatenate([pair[0] for pair in links])
    b = np.concatenate([pair[1] for pair in links])
    if a.size:
        packed = np.unique(np.minimum(a, b).astype(np.int64) * size + np.maximum(a, b))
        a, b = packed // size, packed % size
    while True:
        low, high = np.minimum(root[a], root[b]), np.maximum(root[a], root[b])
        pending = low != high
        if not pending.any():
            return root
        np.minimum.at(root, high[pending], low[pending])
        root = _compress(root)


def _compress(root: np.ndarray) -> np.ndarray:
    """Pointer jumping until every index points at its root."""
    while True:
        jumped = root[root]
        if np.array_equal(jumped, root):
            return root
        root = jumped


def _band_keys(columns: np.ndarray) -> np.ndarray:
    """A 64-bit bucket key per row of band values; a rare collision only adds a candidate to verify."""
    key = np.full(columns.shape[0], np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
    block = np.ascontiguousarray(columns)
    for j in range(block.shape[1]):
        key ^= block[:, j]
        key *= np.uint64(0xBF58476D1CE4E5B9)
        key ^= key >> np.uint64(31)
    return key


def _drop_singletons(members: np.ndarray, buckets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep members of buckets (consecutive equal values) with at least two members."""
    same_as_next = buckets[1:] == buckets[:-1]
    shared = np.zeros(members.size, dtype=bool)
    shared[1:] |= same_as_next
    shared[:-1] |= same_as_next
    return members[shared], buckets[shared]


def _similar(signatures: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    """Estimated Jaccard (share of equal MinHash values) of rows ``a[i]`` and ``b[i]`` >= threshold."""
    needed = threshold * signatures.shape[1]
    result = np.empty(a.size, dtype=bool)
    for start in range(0, a.size, _PAIR_BLOCK):
        stop = start + _PAIR_BLOCK
        equal = np.count_nonzero(signatures[a[start:stop]] == signatures[b[start:stop]], axis=1)
        result[start:stop] = equal >= needed
    return result


def _column_numpy(keys: pa.Table, name: str) -> np.ndarray:
    if name not in keys.column_names:
        raise ValueError(f"dedup keys need a {name!r} column; got {keys.column_names}")
    column = keys.column(name)
    if column.null_count:
        raise ValueError(f"dedup keys: {name!r} has nulls")
    return column.to_numpy()


def fixed_width_column(keys: pa.Table, name: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows where binary column ``name`` has a value, and those values as a ``(rows, width)`` uint8 array.

    A single-chunk binary column without nulls is viewed in place; otherwise its values are copied once.
    """
    if name not in keys.column_names:
        raise ValueError(f"dedup keys need a {name!r} column; got {keys.column_names}")
    column = keys.column(name)
    rows = np.arange(len(column))
    if column.null_count:
        rows = np.flatnonzero(column.is_valid().to_numpy(zero_copy_only=False))
        column = column.drop_null()
    data, sizes = binary_values(column)
    if np.any(sizes != width):
        raise ValueError(f"dedup keys: every {name!r} value must be {width} bytes")
    return rows, data.reshape(len(sizes), width)


def binary_values(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """The values of a binary column without nulls, one after another as one uint8 array, and the
    size of each in bytes. A single-chunk column is viewed in place; otherwise it is copied once."""
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1 and (
            pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)
        ):
            column = column.chunk(0)
        else:
            column = column.cast(pa.large_binary()).combine_chunks()
    if column.null_count:
        raise ValueError("binary values: the column has nulls")
    if len(column) == 0:
        return np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64)
    offset_type = np.int64 if pa.types.is_large_binary(column.type) else np.int32
    offsets = np.frombuffer(column.buffers()[1], dtype=offset_type)[
        column.offset : column.offset + len(column) + 1
    ]
    buffer = column.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.empty(0, dtype=np.uint8)
    return data[offsets[0] : offsets[-1]], np.diff(offsets).astype(np.int64)
