"""Near dedup without site boilerplate: the same short article under reshuffled chrome is a duplicate,
different articles under the same chrome are not, a page of chrome alone is nobody's duplicate; in one
process, as engine tasks, through a real run, and on real publishers' chrome."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xxhash
from datatrove.data import Document

from connectors.reader import ORDER_TASK_SHIFT
from pipelines.dedup.components import component_phases, read_decisions
from pipelines.dedup.tasks import (
    BoilerplateFreeSignatures,
    BoilerplateLines,
    BucketVerifier,
    CandidateSignatures,
    DedupKeyWriter,
    DedupLayout,
    ExactKeyLinks,
    LshBuckets,
    staged_page_words,
)
from pipelines.runner import run_pipeline
from pipelines.sinks.staging import StagedWriter
from pipelines.stages.boilerplate import (
    LINE_DTYPE,
    BoilerplateFreeSigner,
    BoilerplateParams,
    PageWords,
    boilerplate_lines,
    distinct_rows,
    page_line_words,
    page_lines,
    sign_without_boilerplate,
    site_of,
    strip_boilerplate,
)
from pipelines.stages.dedup import DedupSignatures, MinHasher, NearDedupParams, find_duplicates
from pipelines.stages.tokens import Words
from schemas.config import parse_config
from schemas.document import CONTENT_KEY, LINE_KEYS, LINE_WORDS, MINHASH, ORDER, URL, WORD_HASHES
from tests.chrome_corpus import chrome_site_records, write_chrome_site
from tests.conftest import make_doc, read_jsonl

NEAR = NearDedupParams()
PARAMS = BoilerplateParams()


def site_docs() -> tuple[list[Document], dict[str, str]]:
    records, gold = chrome_site_records()
    return [make_doc(r["text"], r["id"], **{URL: r["url"]}) for r in records], gold


def representatives(duplicates: pa.Table, ids: list[str]) -> dict[str, str]:
    ids_and_kept = (duplicates.column("id").to_pylist(), duplicates.column("duplicate_of").to_pylist())
    decided = dict(zip(*ids_and_kept, strict=True))
    return {i: decided.get(i, i) for i in ids}


def one_process(docs: list[Document], boilerplate: bool = True) -> dict[str, str]:
    docs = list(DedupSignatures(exact=True, near=None if boilerplate else NEAR).run(iter(docs)))
    if boilerplate:
        sign_without_boilerplate(docs, NEAR, PARAMS)
    keys = pa.table(
        {
            "id": [d.id for d in docs],
            "order": [d.metadata.get(ORDER, i) for i, d in enumerate(docs)],
            CONTENT_KEY: pa.array([d.metadata.get(CONTENT_KEY) for d in docs], pa.binary()),
            MINHASH: pa.array([d.metadata.get(MINHASH) for d in docs], pa.binary()),
        }
    )
    return representatives(find_duplicates(keys, NEAR), [d.id for d in docs])


def assert_site_clusters(predicted: dict[str, str], gold: dict[str, str]) -> None:
    """Each article's three pages are one cluster kept once; nothing else is put together."""
    for doc_id, cluster in gold.items():
        kept = predicted[doc_id]
        assert gold[kept] == cluster, f"{doc_id} made a duplicate of {kept}"
        if cluster.startswith("article-"):
            assert all(predicted[i] == kept for i, c in gold.items() if c == cluster), cluster
        else:
            assert kept == doc_id, f"{doc_id} (no article) made a duplicate"


# ---------------------------------------------------------------- the rule, in one process


def test_short_article_under_reshuffled_chrome_is_a_duplicate_and_chrome_alone_is_not() -> None:
    docs, gold = site_docs()
    assert_site_clusters(one_process(docs), gold)


def test_without_boilerplate_removal_the_chrome_decides() -> None:
    docs, gold = site_docs()
    predicted = one_process(docs, boilerplate=False)
    missed = [
        i for i, c in gold.items() if c.startswith("article-") and predicted[i] != predicted[f"{c}-copy-0"]
    ]
    assert missed, "the generated site is too easy: whole-page shingles already find every copy"


def test_line_statistics() -> None:
    site = "news.example"
    article = "A long paragraph of the article, the longest line of every copy of it by far: " + "word " * 30

    def rows(*texts: str) -> np.ndarray:
        return np.concatenate([page_lines(t, site) for t in texts])

    teaser = "Short teaser line"
    long_notice = (
        "We use cookies and similar technologies to measure reach and to show you relevant content here"
    )
    # one article repeated: one content, nothing is boilerplate
    assert boilerplate_lines(rows(*[f"{article}\n{teaser}"] * 4), PARAMS).size == 0
    # a short line on two different contents is boilerplate; a long one needs five
    pages = [f"{article} {i}{'!' * i}\n{teaser}\n{long_notice}" for i in range(4)]
    flagged = boilerplate_lines(rows(*pages), PARAMS)
    assert flagged.tolist() == page_lines(teaser, site)["line"].tolist()
    flagged = boilerplate_lines(rows(*pages, f"{article} again, once more\n{long_notice}"), PARAMS)
    assert sorted(flagged.tolist()) == sorted(rows(teaser, long_notice)["line"].tolist())
    # statistics are per site: two sites with one content each flag nothing
    other = page_lines(f"Another article entirely, on its own site\n{teaser}", "elsewhere.example")
    assert boilerplate_lines(np.concatenate([rows(pages[0]), other]), PARAMS).size == 0
    # removal: every line with a flagged key, in any spelling of the line
    stripped = strip_boilerplate(f"  SHORT teaser   line\n{article}\n\n", np.sort(rows(teaser)["line"]))
    assert stripped == f"{article}\n\n"
    assert site_of({URL: "https://www.News.example/a"}) == "news.example"
    assert site_of({"source_uri": "file:///x.jsonl"}) == "file:///x.jsonl"
    assert page_lines("", site).dtype == LINE_DTYPE and page_lines(" \n -- \n", site).size == 0


ODD_TEXTS = [  # whitespace and case forms that the normal form has to undo line by line
    "  Stra\u0308sse \t und\u00a0 Weg \r\n\u2028 Line\x85two\n\n -- \n",
    "\ufb01nance STRASSE stra\u00dfe\n\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 ISLAND\n a\u0301b ",
    "\n\n",
    "",
    "one\ntwo  three\nfour \n five\u00ad six",
]


def test_whole_text_line_forms_match_the_per_line_definitions(shared_data: Path) -> None:
    """Line forms made over the whole text decide as the per-line definitions: each line's normal
    form, the lines stripped as boilerplate, the distinct line rows."""
    texts = line_test_texts(shared_data)

    def normal(line: str) -> str:
        return " ".join(unicodedata.normalize("NFC", line.casefold()).split())

    for text in texts:
        assert page_line_words(Words(text))[0] == [normal(line) for line in text.split("\n")], text
    rows = np.concatenate([page_lines(text, str(i % 3)) for i, text in enumerate(texts)])
    assert distinct_rows(rows).tobytes() == np.unique(rows).tobytes()
    boilerplate = np.unique(rows["line"][::3])  # a third of the lines: pages lose some lines, keep others
    flagged = {int(key) for key in boilerplate}
    stripped = 0
    for text in texts:
        kept = [
            line
            for line in text.split("\n")
            if xxhash.xxh3_64_intdigest(normal(line).encode("utf-8")) not in flagged
            or not re.search(r"\w", line)
        ]
        assert strip_boilerplate(text, boilerplate) == "\n".join(kept), text
        stripped += len(kept) < text.count("\n") + 1
    assert stripped > len(texts) / 2


def line_test_texts(shared_data: Path) -> list[str]:
    """Chrome pages, odd spellings of lines, and real text in four languages cut into pages."""
    texts = [record["text"] for record in chrome_site_records()[0]] + ODD_TEXTS
    for lang in ("de", "hu", "nl", "en"):
        lines = [row["text"] for row in read_jsonl(shared_data / "lang" / f"{lang}.jsonl")]
        texts += ["\n".join(lines[i : i + 12]) for i in range(0, len(lines), 12)]
    return texts


def test_signing_the_pages_words_is_signing_the_stripped_text(shared_data: Path) -> None:
    """Signatures from a page's own word hashes and line counts, as curate stages them, equal the
    signatures of the text with its boilerplate lines stripped, tokenised again."""
    texts = line_test_texts(shared_data)
    rows = np.concatenate([page_lines(text, "site") for text in texts])
    minhasher = MinHasher(NEAR)
    pages = PageWords.of([Words(t) for t in texts])
    unsigned = []
    for boilerplate in (np.unique(rows["line"][::3]), np.unique(rows["line"]), np.empty(0, np.uint64)):
        signed = BoilerplateFreeSigner(NEAR, PARAMS).signatures(pages, boilerplate)
        expected = []
        for text in texts:
            words = Words(strip_boilerplate(text, boilerplate))
            too_few = words.count < PARAMS.min_words
            expected.append(None if too_few else minhasher.signatures([words.hashes])[0].tobytes())
        assert signed == expected
        unsigned.append(sum(s is None for s in signed))
    # a third of the lines dropped leaves some pages too short, all of them every page, none the short ones
    assert unsigned[2] < unsigned[0] < unsigned[1] == len(texts)


def test_staged_page_words_are_checked(tmp_path: Path) -> None:
    """What a curate task staged reaches the sign task whole, and staging that does not add up is
    refused with a clear error instead of signing the wrong words."""
    docs = deal(site_docs()[0], 1)[0]
    layout = DedupLayout(tmp_path / "dedup", 1, 1)
    steps = [DedupSignatures(exact=True, near=None), DedupKeyWriter(layout, True, None, lines=True)]
    data = iter(docs)
    for step in [*steps, StagedWriter(str(tmp_path / "staged"))]:
        data = step.run(data, 0)
    list(data)
    staged = pq.read_table(tmp_path / "staged" / "00000.parquet")
    pages = staged_page_words(staged)
    expected = PageWords.of([Words(doc.text) for doc in docs])
    for field in ("hashes", "words", "line_words", "line_keys", "lines"):
        assert np.array_equal(getattr(pages, field), getattr(expected, field)), field
    short = pa.array([b"" if i == 3 else v for i, v in enumerate(staged.column(LINE_WORDS).to_pylist())])
    with pytest.raises(ValueError, match="do not add up"):
        staged_page_words(staged.set_column(staged.schema.get_field_index(LINE_WORDS), LINE_WORDS, short))
    missing = pa.array([None, *staged.column(WORD_HASHES).to_pylist()[1:]], pa.binary())
    with pytest.raises(ValueError, match="lack 'word_hashes'"):
        staged_page_words(staged.set_column(staged.schema.get_field_index(WORD_HASHES), WORD_HASHES, missing))
    assert staged.column(LINE_KEYS).null_count == 0


# ---------------------------------------------------------------- as engine tasks


def deal(docs: list[Document], tasks: int) -> list[list[Document]]:
    """Documents dealt in turn to ``tasks`` input units, with their input order."""
    per_task: list[list[Document]] = [[] for _ in range(tasks)]
    for i, doc in enumerate(docs):
        rank = i % tasks
        doc.metadata[ORDER] = (rank << ORDER_TASK_SHIFT) | len(per_task[rank])
        per_task[rank].append(doc)
    return per_task


def run_tasks(per_task: list[list[Document]], partitions: int, tmp: Path) -> dict[str, str]:
    """The curate tasks' dedup steps and the dedup phases with boilerplate, task by task."""
    tasks = len(per_task)
    layout = DedupLayout(tmp / "dedup", tasks, partitions)
    staging = str(tmp / "staged")
    for rank, task_docs in enumerate(per_task):
        steps = [DedupSignatures(exact=True, near=None), DedupKeyWriter(layout, True, None, lines=True)]
        data = iter(task_docs)
        for step in [*steps, StagedWriter(staging)]:
            data = step.run(data, rank)
        assert len(list(data)) == len(task_docs)
    for p in range(partitions):
        ExactKeyLinks(layout).run(None, p)
        BoilerplateLines(layout, PARAMS).run(None, p)
    for rank in range(tasks):
        BoilerplateFreeSignatures(layout, staging, NEAR, PARAMS).run(None, rank)
    for p in range(partitions):
        LshBuckets(layout).run(None, p)
    for rank in range(tasks):
        CandidateSignatures(layout, str(layout.signed)).run(None, rank)
    for p in range(partitions):
        BucketVerifier(layout, NEAR).run(None, p)
    for phase in component_phases(layout, ("exact", "near"), ()):
        for rank in range(phase.tasks):
            phase.pipeline[0].run(None, rank)
    return representatives(read_decisions(layout), [d.id for docs in per_task for d in docs])


@pytest.mark.parametrize(("tasks", "partitions"), [(1, 1), (3, 2), (4, 5)])
def test_tasks_decide_as_one_process(tmp_path: Path, tasks: int, partitions: int) -> None:
    docs, gold = site_docs()
    per_task = deal(docs, tasks)
    expected = one_process([Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs])
    assert run_tasks(per_task, partitions, tmp_path) == expected
    assert_site_clusters(expected, gold)


# ---------------------------------------------------------------- a real run


def site_config(folder: Path, enabled: bool = True) -> dict:
    return {
        "name": "chrome-site",
        "sources": [{"kind": "files", "url": str(folder / "*.jsonl"), "license": "CC0-1.0"}],
        "stages": [
            {"kind": "normalize"},
            {"kind": "exact_dedup"},
            {"kind": "near_dedup", "boilerplate": {"enabled": enabled}},
        ],
        "validation": {"enabled": False},
    }


def ledger_clusters(out: Path) -> dict[str, str]:
    ledger = pq.read_table(out / "ledger").to_pylist()
    source_ids = {row["id"]: row["source_id"] for row in ledger}
    return {row["source_id"]: source_ids[row["duplicate_of"] or row["id"]] for row in ledger}


def test_run_marks_the_reshuffled_copies_and_keeps_the_rest(tmp_path: Path) -> None:
    gold = write_chrome_site(tmp_path / "in")
    config = parse_config(site_config(tmp_path / "in"))
    run = run_pipeline(config, tmp_path / "out", workers=2, engine_kind="local")
    predicted = ledger_clusters(run.output)
    assert_site_clusters(predicted, gold)
    assert sum(1 for i, kept in predicted.items() if i == kept) == len(set(gold.values()))
    assert (run.output / "logs" / "dedup-lines").is_dir() and (run.output / "logs" / "dedup-sign").is_dir()

    one = run_pipeline(config, tmp_path / "one", workers=1, engine_kind="local")
    digests = {p.name: p.read_bytes() for p in sorted((run.output / "data").rglob("*.parquet"))}
    assert digests == {p.name: p.read_bytes() for p in sorted((one.output / "data").rglob("*.parquet"))}

    off = run_pipeline(parse_config(site_config(tmp_path / "in", False)), tmp_path / "off", workers=2)
    assert not (off.output / "logs" / "dedup-lines").exists()
    assert sum(1 for i, kept in ledger_clusters(off.output).items() if i == kept) > len(set(gold.values()))


# ---------------------------------------------------------------- real publishers' chrome


def test_real_chrome_site_disjoint_evaluation(shared_data: Path) -> None:
    """Short articles under reshuffled real chrome, and the eight variants of every gold article, on
    the evaluation half of the publishers (``benchmarks/dedup_quality.py`` prints every figure)."""
    from benchmarks.dedup_quality import (
        decide,
        fundus_articles,
        one_kept_per_cluster,
        pairwise_scores,
        signed_without_boilerplate,
        site_corpus,
        split_publishers,
    )
    from benchmarks.dedup_quality import representatives as cluster_of

    _, evaluation = split_publishers(a.publisher for a in fundus_articles(shared_data))
    corpus = site_corpus(shared_data, evaluation)
    predicted = cluster_of(corpus.gold, decide(signed_without_boilerplate(corpus.docs)))
    precision, recall, f1 = pairwise_scores(corpus.gold, predicted)
    print(f"evaluation half: P={precision:.4f} R={recall:.4f} F1={f1:.4f}")
    assert precision >= 0.99 and f1 >= 0.97
    assert one_kept_per_cluster(corpus.gold, predicted) >= 0.9
