"""Memory and time of the dedup component phases as the number of duplicates grows, side by side
with union-find over all links in one task.

    .venv/bin/python benchmarks/components.py [--duplicates 30000 300000 1000000] [--workers 2]

For each size it writes the link files that the exact and verify tasks of a run would write: a
run of ten documents per duplicate in input units of 10,000 documents (so ``P`` = units, at most
256), clusters of heavy-tailed size (1 + Zipf(2.2), at most 2,000 members) at random places in
the input, 30 % of the members exact copies of the cluster's first document (exact links to it,
in one partition by content key), and near links as leader clustering leaves them: in each of 14
bands a random 60 % of the cluster (with the exact copies of a member that is in) share a bucket,
whose earliest member leads (links from it to the others), the bucket in a random partition.

It then runs, on the same files, (a) the component phases (:mod:`pipelines.dedup.components`),
each task in a fresh process forked from this one with ``--workers`` at a time, and (b) the one
cluster task they replace (every link's orders, :func:`pipelines.stages.dedup.cluster_links`, the
ids read back, one decisions file), in a fresh process; it checks that both decide the same, and
prints for each the largest peak RSS of a task, wall time, the edges each round hands on and the
residual (the unsettled edges left for union-find in one task). The forked processes start with
this one's imports (warmed up on a few links first); an empty task's peak RSS is the floor.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("LOGURU_LEVEL", "WARNING")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from connectors.reader import ORDER_TASK_SHIFT  # noqa: E402
from pipelines.dedup.components import (  # noqa: E402
    COMPONENT_ROUNDS,
    component_phases,
    read_decisions,
)
from pipelines.dedup.partitions import write_atomically  # noqa: E402
from pipelines.dedup.tasks import (  # noqa: E402
    DECISIONS_SCHEMA,
    LINKS_SCHEMA,
    MAX_PARTITIONS,
    DedupLayout,
    task_of,
)
from pipelines.stages.dedup import EXACT_REASON, NEAR_REASON, cluster_links  # noqa: E402

DOCS_PER_DUPLICATE = 10
UNIT_DOCS = 10_000
BANDS = 14


def document_id(orders: np.ndarray) -> pa.Array:
    """A 40-character id per order (the length of a sha1 hex digest, as document ids are)."""
    return pa.array([f"{o:040x}" for o in orders.tolist()], pa.string())


def write_link_files(layout: DedupLayout, duplicates: int, seed: int = 1) -> int:
    """The exact and near link files of a run with about ``duplicates`` duplicates; returns links."""
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) - len(sizes) < duplicates:
        sizes.extend((1 + np.minimum(rng.zipf(2.2, 10_000), 2_000)).tolist())
    sizes = np.array(sizes)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes - 1), duplicates) + 1]
    documents = duplicates * DOCS_PER_DUPLICATE
    place = np.sort(rng.choice(documents, sizes.sum(), replace=False))
    place = rng.permutation(place)  # members of a cluster anywhere in the input
    orders = ((place // UNIT_DOCS) << ORDER_TASK_SHIFT) | (place % UNIT_DOCS)
    cluster = np.repeat(np.arange(sizes.size), sizes)
    by_cluster = np.lexsort((orders, cluster))
    orders, cluster = orders[by_cluster], cluster[by_cluster]
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    first = np.repeat(orders[starts], sizes)
    exact = (rng.random(orders.size) < 0.3) & (orders != first)
    links: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {"exact": [], "near": []}
    p = layout.partitions
    links["exact"].append((first[exact], orders[exact], rng.integers(0, p, sizes.size)[cluster[exact]]))
    near_members = ~exact
    for _ in range(BANDS):
        shared = near_members & (rng.random(orders.size) < 0.6)
        shared |= exact & np.repeat(shared[starts], sizes)  # exact copies follow their original
        candidates = np.where(shared, orders, np.iinfo(np.int64).max)
        leader = np.repeat(np.minimum.reduceat(candidates, starts), sizes)
        linked = shared & (orders != leader)
        links["near"].append(
            (leader[linked], orders[linked], rng.integers(0, p, sizes.size)[cluster[linked]])
        )
    total = 0
    for kind, parts in links.items():
        earlier, later, where = (np.concatenate([part[i] for part in parts]) for i in range(3))
        for partition in range(p):
            rows = where == partition
            pairs = np.unique(np.stack([earlier[rows], later[rows]], axis=1), axis=0).reshape(-1, 2)
            table = pa.table(
                [
                    pa.array(pairs[:, 0]),
                    document_id(pairs[:, 0]),
                    pa.array(pairs[:, 1]),
                    document_id(pairs[:, 1]),
                ],
                schema=LINKS_SCHEMA,
            )
            write_atomically(layout.links(kind, partition), LINKS_SCHEMA, [table])
            total += table.num_rows
    return total


def one_cluster_task(layout: DedupLayout, out: Path) -> None:
    """What the single cluster task did: every link's orders, union-find, ids read back, one file."""
    pa.set_memory_pool(pa.system_memory_pool())
    links = {}
    for kind in ("exact", "near"):
        tables = [
            pq.read_table(layout.links(kind, p), columns=["earlier", "later"])
            for p in range(layout.partitions)
        ]
        links[kind] = tuple(
            np.concatenate([t.column(c).to_numpy() for t in tables]) for c in ("earlier", "later")
        )
        del tables
    dup, rep, is_exact = cluster_links(links["exact"], links["near"])
    del links
    wanted = np.unique(np.concatenate([dup, rep]))
    orders, ids = [np.empty(0, np.int64)], [pa.array([], pa.string())]
    for kind in ("exact", "near"):
        for p in range(layout.partitions):
            table = pq.read_table(layout.links(kind, p))
            for side in ("earlier", "later"):
                side_orders = table.column(side).to_numpy()
                keep = np.flatnonzero(np.isin(side_orders, wanted))
                orders.append(side_orders[keep])
                ids.append(table.column(f"{side}_id").combine_chunks().take(pa.array(keep)))
    known, first = np.unique(np.concatenate(orders), return_index=True)
    ids = pa.concat_arrays(ids).take(pa.array(first))
    decisions = pa.table(
        [
            pa.array(task_of(dup).astype(np.int32)),
            ids.take(pa.array(np.searchsorted(known, dup))),
            ids.take(pa.array(np.searchsorted(known, rep))),
            pa.array(np.where(is_exact, EXACT_REASON, NEAR_REASON)),
        ],
        schema=DECISIONS_SCHEMA,
    ).sort_by([("task", "ascending"), ("id", "ascending")])
    write_atomically(out, DECISIONS_SCHEMA, [decisions])


def forked(jobs: list[Callable[[], object]], workers: int) -> list[tuple[float, float]]:
    """Runs each job in a process of its own forked from this one, ``workers`` at a time; returns
    each job's (peak RSS in MB, seconds)."""
    results: list[tuple[float, float]] = [(0.0, 0.0)] * len(jobs)
    running: dict[int, tuple[int, int]] = {}  # pid → (job, read end of its pipe)

    def reap() -> None:
        pid, status = os.wait()
        job, reader = running.pop(pid)
        with os.fdopen(reader) as pipe:
            report = pipe.read()
        if status != 0 or not report:
            raise SystemExit(f"job {job} failed")
        rss, seconds = report.split()
        results[job] = (float(rss), float(seconds))

    for job, work in enumerate(jobs):
        while len(running) >= workers:
            reap()
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into the caller's code
            code = 1
            try:
                os.close(reader)
                start = time.perf_counter()
                work()
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                os.write(writer, f"{peak} {time.perf_counter() - start}".encode())
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(writer)
        running[pid] = (job, reader)
    while running:
        reap()
    return results


def warm_up(folder: Path) -> None:
    """Runs every phase once on a few links here, so that the forked tasks start with what they
    import on first use (pandas, through pyarrow), as an engine's workers do."""
    layout = DedupLayout(folder, 2, 2)
    write_link_files(layout, 100)
    for phase in component_phases(layout, ("exact", "near"), ()):
        for rank in range(phase.tasks):
            phase.pipeline[0].run(None, rank)
    one_cluster_task(layout, folder / "one.parquet")


def measure(duplicates: int, workers: int, tmp: Path) -> dict[str, object]:
    units = max(1, duplicates * DOCS_PER_DUPLICATE // UNIT_DOCS)
    layout = DedupLayout(tmp / "dedup", units, min(units, MAX_PARTITIONS))
    with ProcessPoolExecutor(1, mp_context=get_context("fork")) as pool:  # its memory stays there
        links = pool.submit(write_link_files, layout, duplicates).result()
    [(floor, _)] = forked([lambda: None], 1)
    [(one_rss, one_seconds)] = forked([partial(one_cluster_task, layout, tmp / "one.parquet")], 1)
    phases = []
    start = time.perf_counter()
    for phase in component_phases(layout, ("exact", "near"), ()):
        began = time.perf_counter()
        results = forked([partial(phase.pipeline[0].run, None, rank) for rank in range(phase.tasks)], workers)
        phases.append((phase.name, max(r[0] for r in results), time.perf_counter() - began))
    seconds = time.perf_counter() - start
    one = pq.read_table(tmp / "one.parquet")
    ours = read_decisions(layout)
    if not ours.equals(one):
        raise SystemExit(f"{duplicates}: the component phases decided differently from the one task")
    edges = [
        sum(pq.read_metadata(layout.component_edges(r, q)).num_rows for q in range(layout.partitions))
        for r in range(COMPONENT_ROUNDS + 1)
    ]
    residual = sum(pq.read_metadata(layout.residual_edges(q)).num_rows for q in range(layout.partitions))
    return {
        "duplicates": one.num_rows,
        "links": links,
        "partitions": layout.partitions,
        "floor": floor,
        "one": (one_rss, one_seconds),
        "phases": phases,
        "seconds": seconds,
        "edges": edges,
        "residual": residual,
        "residual_roots": pq.read_metadata(layout.residual_roots).num_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duplicates", type=int, nargs="+", default=[30_000, 300_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(Path(tmp))
    for duplicates in args.duplicates:  # each size in a process of its own, forked from this small one
        forked([partial(report, duplicates, args.workers)], 1)


def report(duplicates: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(duplicates, workers, Path(tmp))
    largest = max(r["phases"], key=lambda phase: phase[1])
    floor = r["floor"]
    print(
        f"{r['duplicates']:,} duplicates, {r['links']:,} links, P={r['partitions']}: one task "
        f"{r['one'][0]:.0f} MB peak RSS (+{r['one'][0] - floor:.0f} over an empty task's {floor:.0f}), "
        f"{r['one'][1]:.1f} s | component phases: largest task {largest[1]:.0f} MB "
        f"(+{largest[1] - floor:.0f}, {largest[0]}), {r['seconds']:.1f} s with {workers} workers",
        flush=True,
    )
    per_phase = ", ".join(f"{n} {m:.0f} {s:.1f}" for n, m, s in r["phases"])
    print(f"  per phase (largest task MB, s): {per_phase}", flush=True)
    print(
        f"  edges handed on per round: {r['edges']}; unsettled edges left: {r['residual']:,} "
        f"({r['residual_roots']:,} nodes resolved by the residual task)",
        flush=True,
    )


if __name__ == "__main__":
    main()
