"""Connected components as partitioned tasks: the same decisions as union-find over all links,
whatever the number of rounds, partitions and input units, on files and on carried channels."""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.reader import ORDER_TASK_SHIFT
from pipelines.dedup.components import (
    DecisionsIndex,
    component_phases,
    read_decisions,
    settle,
    star_contraction,
)
from pipelines.dedup.partitions import Shuffle, write_atomically
from pipelines.dedup.tasks import LINKS_SCHEMA, DedupLayout, task_of
from pipelines.stages.dedup import EXACT_REASON, NEAR_REASON, Links, cluster_links


def identifier(order: int) -> str:
    return f"doc-{order:x}"


def orders_of(nodes: int, tasks: int, rng: np.random.Generator) -> np.ndarray:
    """``nodes`` distinct document orders spread over ``tasks`` input units, in random sequence."""
    seq = rng.choice(1 << 20, size=nodes, replace=False).astype(np.int64)
    return (rng.integers(0, tasks, nodes).astype(np.int64) << ORDER_TASK_SHIFT) | seq


def as_links(a: np.ndarray, b: np.ndarray) -> Links:
    keep = a != b
    a, b = a[keep], b[keep]
    return np.minimum(a, b), np.maximum(a, b)


def path(nodes: np.ndarray, rng: np.random.Generator) -> Links:
    """One chain through every node in random order: needs many rounds to become a star."""
    walk = rng.permutation(nodes)
    return as_links(walk[:-1], walk[1:])


def stars_with_chains(nodes: np.ndarray, rng: np.random.Generator) -> Links:
    """Clusters as leader clustering leaves them: stars at their first member, some members also
    linked across (as bands link them), and a few clusters chained to the next."""
    a, b, start = [], [], 0
    while start < nodes.size - 1:
        size = int(rng.integers(2, 12))
        members = nodes[start : start + size]
        head = members.min() if rng.random() < 0.7 else members[0]
        a += [head] * (members.size - 1)
        b += [m for m in members if m != head]
        for _ in range(members.size // 3):
            u, v = rng.choice(members, 2, replace=False)
            a.append(u)
            b.append(v)
        if rng.random() < 0.2 and start + size < nodes.size:
            a.append(members[-1])
            b.append(nodes[start + size])
        start += size
    return as_links(np.array(a, np.int64), np.array(b, np.int64))


def random_graph(nodes: np.ndarray, rng: np.random.Generator) -> Links:
    edges = int(nodes.size * rng.uniform(0.5, 1.5))
    return as_links(rng.choice(nodes, edges), rng.choice(nodes, edges))


GRAPHS = {"path": path, "stars": stars_with_chains, "random": random_graph}


def write_links(layout: DedupLayout, kind: str, links: Links, rng: np.random.Generator) -> None:
    """The links as the exact or verify tasks write them: spread over the P link files."""
    earlier, later = links
    where = rng.integers(0, layout.partitions, earlier.size)
    for p in range(layout.partitions):
        e, lt = earlier[where == p], later[where == p]
        table = pa.table(
            [
                pa.array(e, pa.int64()),
                pa.array([identifier(o) for o in e.tolist()], pa.string()),
                pa.array(lt, pa.int64()),
                pa.array([identifier(o) for o in lt.tolist()], pa.string()),
            ],
            schema=LINKS_SCHEMA,
        )
        write_atomically(layout.links(kind, p), LINKS_SCHEMA, [table])


def expected(exact: Links, near: Links) -> dict[str, tuple[int, str, str]]:
    dup, rep, is_exact = cluster_links(exact, near)
    return {
        identifier(d): (int(task_of(np.array([d]))[0]), identifier(r), EXACT_REASON if x else NEAR_REASON)
        for d, r, x in zip(dup.tolist(), rep.tolist(), is_exact.tolist(), strict=True)
    }


def found(layout: DedupLayout) -> dict[str, tuple[int, str, str]]:
    rows = read_decisions(layout).to_pylist()
    assert len({r["id"] for r in rows}) == len(rows)  # one decision per duplicate
    return {r["id"]: (r["task"], r["duplicate_of"], r["reason"]) for r in rows}


def run_on_files(layout: DedupLayout, kinds: tuple[str, ...], rounds: int) -> None:
    for phase in component_phases(layout, kinds, (), rounds):
        for rank in range(phase.tasks):
            phase.pipeline[0].run(None, rank)


def run_on_channels(layout: DedupLayout, kinds: tuple[str, ...], rounds: int) -> None:
    """As the Beam engine runs them: each task a copy of its step, partitioned rows carried in memory."""
    carried: dict[str, dict[int, list[pa.Table]]] = defaultdict(lambda: defaultdict(list))
    for phase in component_phases(layout, kinds, (), rounds):
        for rank in range(phase.tasks):
            step = copy.deepcopy(phase.pipeline[0])
            channel = step.receives
            step.shuffle = Shuffle(received=None if channel is None else carried[channel][rank])
            step.run(None, rank)
            for sent_on, partition, rows in step.shuffle.sent:
                carried[sent_on][partition].append(rows)


@pytest.mark.parametrize("graph", sorted(GRAPHS))
@pytest.mark.parametrize("seed", range(4))
def test_components_decide_as_union_find_over_all_links(tmp_path: Path, graph: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tasks, partitions, rounds = int(rng.integers(1, 6)), int(rng.integers(1, 8)), int(rng.integers(0, 4))
    nodes = orders_of(int(rng.integers(50, 400)), tasks, rng)
    links = GRAPHS[graph](nodes, rng)
    exact_share = rng.random(links[0].size) < rng.uniform(0, 1)  # exact and near links mixed
    exact = (links[0][exact_share], links[1][exact_share])
    near = (links[0][~exact_share], links[1][~exact_share])
    layout = DedupLayout(tmp_path, tasks, partitions)
    write_links(layout, "exact", exact, rng)
    write_links(layout, "near", near, rng)
    run_on_files(layout, ("exact", "near"), rounds)
    truth = expected(exact, near)
    assert truth and found(layout) == truth
    for task in range(tasks):  # a write task's rows of every decisions file
        mine = {r["id"] for r in read_decisions(layout, task).to_pylist()}
        assert mine == {i for i, (t, _, _) in truth.items() if t == task}


@pytest.mark.parametrize("rounds", [0, 1, 3])
def test_a_path_longer_than_the_rounds_reach_is_finished_by_the_residual_task(
    tmp_path: Path, rounds: int
) -> None:
    rng = np.random.default_rng(7)
    nodes = orders_of(3000, 3, rng)
    links = path(nodes, rng)
    layout = DedupLayout(tmp_path, 3, 4)
    write_links(layout, "near", links, rng)
    run_on_files(layout, ("near",), rounds)
    assert pq.read_metadata(layout.residual_roots).num_rows > 100  # the rounds did not finish it
    decisions = found(layout)
    assert decisions == expected((np.empty(0, np.int64),) * 2, links)
    assert set(duplicate_of for _, duplicate_of, _ in decisions.values()) == {identifier(nodes.min())}


def test_stars_need_no_residual(tmp_path: Path) -> None:
    """Exact copies of a first copy and leader clusters: settled in the rounds, none left over."""
    rng = np.random.default_rng(3)
    nodes = orders_of(2000, 4, rng)
    heads = np.sort(nodes)[::10]
    members = np.setdiff1d(nodes, heads)
    links = as_links(heads[np.searchsorted(heads, members) - 1], members)  # each to the first before it
    layout = DedupLayout(tmp_path, 4, 5)
    write_links(layout, "exact", links, rng)
    run_on_files(layout, ("exact",), 1)
    assert pq.read_metadata(layout.residual_roots).num_rows == 0
    assert found(layout) == expected(links, (np.empty(0, np.int64),) * 2)


@pytest.mark.parametrize("seed", range(3))
def test_carried_channels_decide_as_files(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = orders_of(300, 3, rng)
    exact, near = stars_with_chains(nodes[:150], rng), random_graph(nodes[150:], rng)
    results = []
    for where, run in (("files", run_on_files), ("carried", run_on_channels)):
        layout = DedupLayout(tmp_path / where, 3, 4)
        write_links(layout, "exact", exact, np.random.default_rng(seed))
        write_links(layout, "near", near, np.random.default_rng(seed))
        run(layout, ("exact", "near"), 1)
        results.append(found(layout))
    assert results[0] == results[1] == expected(exact, near)
    carried = {
        p.relative_to(tmp_path / "carried").parts[:3] for p in (tmp_path / "carried").rglob("*.parquet")
    }
    assert {parts[1] for parts in carried if parts[0] == "components"} == {"nodes", "residual-roots.parquet"}


def test_no_links_no_decisions_and_the_summary_counts_them(tmp_path: Path) -> None:
    layout = DedupLayout(tmp_path, 2, 3)
    empty = (np.empty(0, np.int64),) * 2
    write_links(layout, "exact", empty, np.random.default_rng(0))
    run_on_files(layout, ("exact",), 2)
    assert read_decisions(layout).num_rows == 0
    DecisionsIndex(layout).run()
    assert pq.ParquetFile(layout.decisions).metadata.num_rows == 0

    rng = np.random.default_rng(1)
    links = stars_with_chains(orders_of(500, 2, rng), rng)
    write_links(layout, "exact", links, rng)
    run_on_files(layout, ("exact",), 2)
    DecisionsIndex(layout).run()
    assert pq.ParquetFile(layout.decisions).metadata.num_rows == len(expected(links, empty)) > 0


@pytest.mark.parametrize("seed", range(5))
def test_contraction_keeps_components_and_settled_stars_are_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = orders_of(200, 1, rng)
    smaller, larger = random_graph(nodes, rng)
    centres, members = star_contraction(smaller, larger)
    assert centres.size <= smaller.size and np.all(centres < members)
    before = dict(zip(*cluster_links((smaller, larger), (np.empty(0, np.int64),) * 2)[:2], strict=True))
    after = dict(zip(*cluster_links((centres, members), (np.empty(0, np.int64),) * 2)[:2], strict=True))
    assert before == after
    stars = settle(centres, members)  # a star forest: every node settles, a member's parent is its centre
    assert stars.residual[0].size == 0
    assert dict(zip(stars.nodes.tolist(), stars.parents.tolist(), strict=True)) == {
        **{c: c for c in centres.tolist()},
        **before,
    }
    # on the graph itself: nothing is left over exactly when it is already stars at the smallest nodes
    rep = {**{c: c for c in smaller.tolist()}, **before}
    is_stars = np.unique(larger).size == larger.size and all(
        rep[b] == a for a, b in zip(smaller.tolist(), larger.tolist(), strict=True)
    )
    assert (settle(smaller, larger).residual[0].size == 0) == is_stars
    assert settle(*star_contraction(*path(nodes, rng))).residual[0].size == 0
    assert settle(*path(nodes, rng)).residual[0].size > 0
