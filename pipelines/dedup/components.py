"""Connected components of the dedup links as engine tasks, so that no task holds the whole run's.

The decision rule is :func:`pipelines.stages.dedup.cluster_links`'s: a component's representative
is its smallest order, and a duplicate is exact when an exact link ends at it. Here the same
components are found in a fixed number of partitioned rounds, planned before the run:
```
 components-0 task p  ── LinkComponents ──► edges-0        stars of the links of partition p
                                        └─► nodes/p        (order, id, exact) of their documents
 components-r task p  ── ComponentRound ──► edges-r        stars of partition p's edges (r = 1..R)
 settle task p        ── SettledComponents ─► members      (parent, order, id, exact) by parent
                                          └─► residual     edges of nodes not yet in a star
 residual task        ── ResidualComponents ─► residual-roots  union-find over the residual only
 decisions task p     ── ComponentDecisions ─► decisions/p (task, id, duplicate_of, reason) by task
```
A node (a document that has a link) belongs to partition :func:`node_partition` of its order, and
an edge goes to the partitions of both its ends. Every round contracts: a task takes the union of
the edges it received (those at its nodes; in round 0 the links of its link partition), and
replaces each of their connected components by a star from the component's smallest node to each
other node (:func:`star_contraction`). The stars of all tasks span every edge they were given, so
the components never change, while each round lets a smallest node reach further (a node that
sees two stars joins their centres; the centre sees its members' other stars). A task's stars
have at most as many edges as it received.

After ``R`` rounds the settle task of partition ``p`` checks each of its nodes on the edges it
holds: a *centre* (every neighbour larger) or a *leaf* (one neighbour, smaller). When every node
passes, the edges are stars whose centres are their components' smallest nodes, and a node's
representative is its centre. The nodes that fail and their edges (the residual) go to one task
that runs union-find over them alone; its roots are the smallest nodes of the components that
had not become stars, and a leaf whose centre is in the residual takes the centre's root (the
argument is in :func:`settle`). So the result is exact whatever ``R`` is; ``R``
(:data:`COMPONENT_ROUNDS`) only decides how small the residual is, and the residual task's
statistics count it.

Then each decisions task gets the members of the centres in its partition (each node, settled or
not, sends itself to its parent: its centre, or itself), resolves the centres through the
residual roots, and writes the duplicates it found into one file whose row groups are the input
units (:func:`pipelines.dedup.partitions.write_partitioned`), so a write task reads its own rows of
every decisions file. :class:`DecisionsIndex` (in the finalize phase) writes the files' Parquet
summary (``_metadata``), which counts the run's duplicates without reading them.

A task holds its partition's share of the edges and nodes (``~1/P``), plus its largest
component's star when one component is very large (its centre's task receives all of its edges),
and the residual task holds the residual. The edges, members and residual are channels
(:mod:`pipelines.dedup.partitions`), so the Beam engine carries them; the nodes, the residual
roots and the decisions are files of the layout.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipelines.dedup.partitions import hash_partition, read_partition, write_atomically, write_partitioned
from pipelines.dedup.tasks import DECISIONS_SCHEMA, DedupLayout, _DedupTask, task_of
from pipelines.engines.base import Phase
from pipelines.stages.dedup import EXACT_REASON, NEAR_REASON, Links, merge_links
from pipelines.stages.tokens import fmix64

COMPONENT_ROUNDS = 3  # contraction rounds after the one over the link partitions

EDGES_SCHEMA = pa.schema(
    [pa.field("smaller", pa.int64(), nullable=False), pa.field("larger", pa.int64(), nullable=False)]
)
NODES_SCHEMA = pa.schema(
    [
        pa.field("order", pa.int64(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("exact", pa.bool_(), nullable=False),  # an exact link ends at this document
    ]
)
MEMBERS_SCHEMA = pa.schema([pa.field("parent", pa.int64(), nullable=False), *NODES_SCHEMA])
ROOTS_SCHEMA = pa.schema(
    [
        pa.field("order", pa.int64(), nullable=False),
        pa.field("root", pa.int64(), nullable=False),
        pa.field("root_id", pa.string(), nullable=False),
    ]
)

RESIDUAL = "residual-edges"  # settle tasks → the residual task (partition 0)
MEMBERS = "component-members"  # settle tasks → decisions tasks, by the parent's partition


def edges_channel(round_: int) -> str:
    """The channel of round ``round_``'s edges: sent by its tasks, received by the next phase's."""
    return f"component-edges-{round_}"


def node_partition(orders: np.ndarray, partitions: int) -> np.ndarray:
    """The partition that holds each node (document order), by a hash of the order."""
    return hash_partition(fmix64(np.asarray(orders, np.int64).astype(np.uint64)), partitions)


def star_contraction(smaller: np.ndarray, larger: np.ndarray) -> Links:
    """Each connected component of the edges as a star: (its smallest node, each other node)."""
    if smaller.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    nodes, dense = np.unique(np.concatenate([smaller, larger]), return_inverse=True)
    root = merge_links(nodes.size, [(dense[: smaller.size], dense[smaller.size :])])
    members = np.flatnonzero(root != np.arange(nodes.size))
    return nodes[root[members]], nodes[members]


class Settled(NamedTuple):
    """What a settle task finds about its nodes (sorted), from the edges at them."""

    nodes: np.ndarray
    parents: np.ndarray  # a leaf's centre; a centre's or an unsettled node's own order
    residual: Links  # the edges of the unsettled nodes


def settle(smaller: np.ndarray, larger: np.ndarray, owned: np.ndarray | None = None) -> Settled:
    """Checks the nodes at ``owned`` ends (a mask over ``smaller + larger``; all when None).

    A node is settled as a centre (every neighbour larger) or a leaf (one neighbour, smaller). If
    every node is, each edge joins a leaf to a centre (its larger end has a smaller neighbour, so
    it is a leaf; its smaller end has a larger one, so it is a centre): the edges are stars, each a
    whole component with its smallest node in the middle. Otherwise the residual (the edges of
    the unsettled nodes) holds the smallest node of every component it touches (a leaf is never
    the smallest; a centre with only settled leaves is a whole star), and removing the leaves
    disconnects nothing, so union-find over the residual alone finds those components' smallest
    nodes.
    """
    ends = np.concatenate([smaller, larger])
    others = np.concatenate([larger, smaller])
    if owned is not None:
        ends, others = ends[owned], others[owned]
    by_end = np.lexsort((others, ends))
    ends, others = ends[by_end], others[by_end]
    fresh = np.ones(ends.size, dtype=bool)
    fresh[1:] = (ends[1:] != ends[:-1]) | (others[1:] != others[:-1])
    ends, others = ends[fresh], others[fresh]
    if ends.size == 0:
        empty = np.empty(0, np.int64)
        return Settled(empty, empty, (empty, empty))
    starts = np.flatnonzero(np.r_[True, ends[1:] != ends[:-1]])
    nodes = ends[starts]
    degree = np.diff(np.r_[starts, ends.size])
    nearest = np.minimum.reduceat(others, starts)
    leaf = (degree == 1) & (nearest < nodes)
    unsettled = ~leaf & (nearest < nodes)  # neither a leaf nor a centre
    edge_unsettled = np.repeat(unsettled, degree)
    a, b = ends[edge_unsettled], others[edge_unsettled]
    return Settled(nodes, np.where(leaf, nearest, nodes), (np.minimum(a, b), np.maximum(a, b)))


def _edges_table(edges: Links) -> pa.Table:
    return pa.table([pa.array(edges[0], pa.int64()), pa.array(edges[1], pa.int64())], schema=EDGES_SCHEMA)


def _edges(table: pa.Table) -> Links:
    return table.column("smaller").to_numpy(), table.column("larger").to_numpy()


class _ComponentTask(_DedupTask):
    """A task of the component phases: sends each edge to the partitions of both its ends."""

    def send_edges(self, channel: str, rank: int, round_: int, edges: Links) -> None:
        parts = self.layout.partitions
        smaller, larger = edges
        to_smaller, to_larger = node_partition(smaller, parts), node_partition(larger, parts)
        twice = to_larger != to_smaller
        table = _edges_table((np.r_[smaller, smaller[twice]], np.r_[larger, larger[twice]]))
        partition = np.r_[to_smaller, to_larger[twice]]
        self.stat_update("edges_sent", value=table.num_rows)
        self.send(channel, self.layout.component_edges(round_, rank), table, partition)

    def received_edges(self, round_: int, rank: int) -> Links:
        layout = self.layout
        paths = (layout.component_edges(round_, q) for q in range(layout.partitions))
        return _edges(self.received(paths, rank, EDGES_SCHEMA))

    def nodes(self, partition: int) -> pa.Table:
        """The nodes of ``partition`` (sorted by order, each once) from every round-0 task's file."""
        layout = self.layout
        table = read_partition(
            (layout.component_nodes(q) for q in range(layout.partitions)), partition, NODES_SCHEMA
        )
        orders = table.column("order").to_numpy()
        unique, first, inverse = np.unique(orders, return_index=True, return_inverse=True)
        exact = np.zeros(unique.size, dtype=bool)
        np.logical_or.at(exact, inverse, table.column("exact").to_numpy(zero_copy_only=False))
        ids = table.column("id").combine_chunks().take(pa.array(first))
        return pa.table([pa.array(unique, pa.int64()), ids, pa.array(exact)], schema=NODES_SCHEMA)


class LinkComponents(_ComponentTask):
    """Round 0, task ``p``: stars of the links of partition ``p`` (exact and near), and their nodes."""

    name = "link components"
    sends = (edges_channel(0),)

    def __init__(self, layout: DedupLayout, kinds: tuple[str, ...]):
        super().__init__(layout)
        self.kinds = kinds  # "exact" and/or "near": the link files the run has

    def task(self, rank: int) -> None:
        tables = {kind: pq.read_table(self.layout.links(kind, rank)) for kind in self.kinds}
        earlier = [t.column("earlier").to_numpy() for t in tables.values()]
        later = [t.column("later").to_numpy() for t in tables.values()]
        smaller, larger = (
            np.concatenate([np.empty(0, np.int64), *earlier]),
            np.concatenate([np.empty(0, np.int64), *later]),
        )
        self.send_edges(edges_channel(0), rank, 0, star_contraction(smaller, larger))

        orders = np.concatenate([smaller, larger])
        ids = pa.concat_arrays(
            [pa.array([], pa.string())]
            + [
                t.column(f"{side}_id").combine_chunks()
                for side in ("earlier", "later")
                for t in tables.values()
            ]
        )
        exact_ends = (
            tables["exact"].column("later").to_numpy() if "exact" in tables else np.empty(0, np.int64)
        )
        unique, first = np.unique(orders, return_index=True)
        nodes = pa.table(
            [pa.array(unique, pa.int64()), ids.take(pa.array(first)), pa.array(np.isin(unique, exact_ends))],
            schema=NODES_SCHEMA,
        )
        write_partitioned(
            self.layout.component_nodes(rank), nodes, node_partition(unique, self.layout.partitions)
        )


class ComponentRound(_ComponentTask):
    """Round ``r`` >= 1, task ``p``: stars of the edges at the nodes of partition ``p``."""

    name = "component round"

    def __init__(self, layout: DedupLayout, round_: int):
        super().__init__(layout)
        self.round = round_
        self.receives = edges_channel(round_ - 1)
        self.sends = (edges_channel(round_),)

    def task(self, rank: int) -> None:
        edges = self.received_edges(self.round - 1, rank)
        self.stat_update("edges_received", value=edges[0].size)
        self.send_edges(edges_channel(self.round), rank, self.round, star_contraction(*edges))


class SettledComponents(_ComponentTask):
    """Settle task ``p``: which nodes of partition ``p`` are centres or leaves; sends each node to its
    parent's decisions task and the unsettled nodes' edges to the residual task."""

    name = "settled components"
    sends = (MEMBERS, RESIDUAL)

    def __init__(self, layout: DedupLayout, rounds: int):
        super().__init__(layout)
        self.rounds = rounds
        self.receives = edges_channel(rounds)

    def task(self, rank: int) -> None:
        layout = self.layout
        smaller, larger = self.received_edges(self.rounds, rank)
        ends = np.concatenate([smaller, larger])
        found = settle(smaller, larger, node_partition(ends, layout.partitions) == rank)
        nodes = self.nodes(rank)
        if not np.array_equal(found.nodes, nodes.column("order").to_numpy()):
            raise RuntimeError(f"partition {rank}: the component edges and the link nodes disagree")
        residual = _edges_table(found.residual)
        self.stat_update("unsettled_edges", value=residual.num_rows)
        self.send(RESIDUAL, layout.residual_edges(rank), residual, np.zeros(residual.num_rows, np.int64))
        members = pa.table([pa.array(found.parents, pa.int64()), *nodes.columns], schema=MEMBERS_SCHEMA)
        partition = node_partition(found.parents, layout.partitions)
        self.send(MEMBERS, layout.members(rank), members, partition)


class ResidualComponents(_DedupTask):
    """The residual task: union-find over the unsettled edges; their roots, with the roots' ids."""

    name = "residual components"
    receives = RESIDUAL

    def task(self, rank: int) -> None:
        layout = self.layout
        table = self.received(
            (layout.residual_edges(q) for q in range(layout.partitions)), rank, EDGES_SCHEMA
        )
        smaller, larger = _edges(table)
        self.stat_update("residual_edges", value=smaller.size)
        roots, members = star_contraction(smaller, larger)
        self.stat_update("residual_nodes", value=members.size + np.unique(roots).size)
        by_member = np.argsort(members)
        members, roots = members[by_member], roots[by_member]
        root_orders = np.unique(roots)
        known, ids = [np.empty(0, np.int64)], [pa.array([], pa.string())]
        for partition in np.unique(node_partition(root_orders, layout.partitions)):
            nodes = read_partition(
                (layout.component_nodes(q) for q in range(layout.partitions)), int(partition), NODES_SCHEMA
            )
            nodes = nodes.filter(pc.is_in(nodes.column("order"), value_set=pa.array(root_orders)))
            known.append(nodes.column("order").to_numpy())
            ids.append(nodes.column("id").combine_chunks())
        known_orders, first = np.unique(np.concatenate(known), return_index=True)
        root_ids = pa.concat_arrays(ids).take(pa.array(first[np.searchsorted(known_orders, roots)]))
        out = pa.table(
            [pa.array(members, pa.int64()), pa.array(roots, pa.int64()), root_ids], schema=ROOTS_SCHEMA
        )
        write_atomically(layout.residual_roots, ROOTS_SCHEMA, [out])


class ComponentDecisions(_DedupTask):
    """Decisions task ``p``: the duplicates among the members of partition ``p``'s centres, into
    one file whose row groups are the input units (for the write tasks)."""

    name = "component decisions"
    receives = MEMBERS

    def task(self, rank: int) -> None:
        layout = self.layout
        members = self.received((layout.members(q) for q in range(layout.partitions)), rank, MEMBERS_SCHEMA)
        parents = members.column("parent").to_numpy()
        orders = members.column("order").to_numpy()
        ids = members.column("id").combine_chunks()
        label, root_at = _labels(
            parents, orders, pq.read_table(layout.residual_roots, columns=["order", "root"])
        )
        duplicate = np.flatnonzero(label != orders)
        duplicate_of = _label_ids(duplicate, parents, orders, ids, root_at, layout)
        exact = members.column("exact").to_numpy(zero_copy_only=False)[duplicate]
        reasons = pa.DictionaryArray.from_arrays(
            pa.array(exact.astype(np.int8)), pa.array([NEAR_REASON, EXACT_REASON])
        )
        tasks = task_of(orders[duplicate]).astype(np.int32)
        decisions = pa.table(
            [pa.array(tasks), ids.take(pa.array(duplicate)), duplicate_of, reasons.cast(pa.string())],
            schema=DECISIONS_SCHEMA,
        ).sort_by([("task", "ascending"), ("id", "ascending")])
        self.stat_update("duplicates", value=decisions.num_rows)
        write_partitioned(layout.decisions_part(rank), decisions, decisions.column("task").to_numpy())


def _labels(parents: np.ndarray, orders: np.ndarray, roots: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Each member's representative: its parent, or the parent's residual root; and where that root
    is in ``roots`` (-1: the parent itself)."""
    root_orders = roots.column("order").to_numpy()
    at = np.minimum(np.searchsorted(root_orders, parents), max(root_orders.size - 1, 0))
    in_residual = root_orders[at] == parents if root_orders.size else np.zeros(parents.size, dtype=bool)
    root_at = np.where(in_residual, at, -1)
    label = np.where(in_residual, roots.column("root").to_numpy()[at] if root_orders.size else 0, parents)
    return label, root_at


def _label_ids(
    rows: np.ndarray,
    parents: np.ndarray,
    orders: np.ndarray,
    ids: pa.Array,
    root_at: np.ndarray,
    layout: DedupLayout,
) -> pa.Array:
    """The representative's id for each of ``rows``: a residual root's from the residual roots, a
    parent's from the parent's own row (a centre or an unsettled node is its own parent)."""
    centres = np.flatnonzero(parents == orders)
    centres = centres[np.argsort(orders[centres])]
    own_rows = centres[np.minimum(np.searchsorted(orders[centres], parents[rows]), max(centres.size - 1, 0))]
    if rows.size and not np.array_equal(orders[own_rows], parents[rows]):
        raise RuntimeError("a parent without a members row of its own")
    parent_ids = ids.take(pa.array(own_rows))
    from_root = root_at[rows] >= 0
    if not from_root.any():
        return parent_ids
    root_ids = pq.read_table(layout.residual_roots, columns=["root_id"]).column("root_id").combine_chunks()
    return pc.if_else(pa.array(from_root), root_ids.take(pa.array(np.maximum(root_at[rows], 0))), parent_ids)


class DecisionsIndex(PipelineStep):
    """Writes the decisions files' Parquet summary (``_metadata``: every row group's metadata, no rows)."""

    type = "dedup"
    name = "decisions index"

    def __init__(self, layout: DedupLayout):
        super().__init__()
        self.layout = layout

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        layout = self.layout
        collected = []
        for partition in range(layout.partitions):
            path = layout.decisions_part(partition)
            metadata = pq.read_metadata(path)
            metadata.set_file_path(path.name)
            collected.append(metadata)
        pq.write_metadata(DECISIONS_SCHEMA, layout.decisions, metadata_collector=collected)
        return iter(())


def read_decisions(layout: DedupLayout, task: int | None = None) -> pa.Table:
    """The run's decisions (of input unit ``task`` only, when given), sorted by task and id."""
    paths = [layout.decisions_part(p) for p in range(layout.partitions)]
    if task is not None:
        return read_partition(paths, task, DECISIONS_SCHEMA).sort_by(
            [("task", "ascending"), ("id", "ascending")]
        )
    tables = [pq.read_table(path).replace_schema_metadata(None) for path in paths]
    return pa.concat_tables(tables).sort_by([("task", "ascending"), ("id", "ascending")])


DECISIONS_PHASE = "dedup-decisions"  # the component phase that the write phase waits for


def component_titles(rounds: int = COMPONENT_ROUNDS) -> dict[str, str]:
    """What progress bars say about each component phase."""
    return {
        "dedup-components-0": "dedup: components of each link partition",
        **{f"dedup-components-{r}": f"dedup: components, round {r}" for r in range(1, rounds + 1)},
        "dedup-settle": "dedup: settled components",
        "dedup-residual": "dedup: unsettled components (union-find)",
        DECISIONS_PHASE: "dedup: duplicate decisions",
    }


def component_phases(
    layout: DedupLayout, kinds: tuple[str, ...], after: tuple[str, ...], rounds: int = COMPONENT_ROUNDS
) -> list[Phase]:
    """The component phases in order, the first one after the phases ``after`` (those writing links)."""
    titles = component_titles(rounds)
    p = layout.partitions
    steps: list[tuple[str, _DedupTask, int]] = [
        ("dedup-components-0", LinkComponents(layout, kinds), p),
        *((f"dedup-components-{r}", ComponentRound(layout, r), p) for r in range(1, rounds + 1)),
        ("dedup-settle", SettledComponents(layout, rounds), p),
        ("dedup-residual", ResidualComponents(layout), 1),
        (DECISIONS_PHASE, ComponentDecisions(layout), p),
    ]
    phases = []
    for name, step, tasks in steps:
        phases.append(Phase(name, titles[name], [step], tasks, after))
        after = (name,)
    return phases
