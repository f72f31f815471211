"""Dedup: keys per document, duplicate decisions across a run, and their quality on real data."""

from __future__ import annotations

import pickle
import random
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datatrove.data import Document

from benchmarks.dedup_quality import (
    GoldText,
    VariantCorpus,
    decide,
    fundus_articles,
    fundus_variant_docs,
    keys_table,
    kind_recall,
    merged_gold_pairs,
    pairwise_scores,
    representatives,
    signed,
)
from pipelines.stages.dedup import (
    CONTENT_KEY,
    DUPLICATES_SCHEMA,
    EXACT_REASON,
    MINHASH,
    NEAR_REASON,
    DedupSignatures,
    NearDedupParams,
    band_buckets,
    bucket_links,
    find_duplicates,
    merge_links,
    normalize_for_dedup,
)
from schemas.document import REASON, STATUS, Status
from tests.conftest import make_doc, read_jsonl

NEAR = NearDedupParams()


# ---------------------------------------------------------------- helpers


# signed, keys_table, decide, representatives and pairwise_scores live in benchmarks/dedup_quality.py,
# which builds the real-data evaluation that the last tests here assert on.


def synthetic_corpus(seed: int = 7, articles: int = 40) -> list[Document]:
    """Random-vocabulary articles, each with exact and near copies, in a shuffled order."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(3000)]
    docs = []
    for a in range(articles):
        words = rng.choices(vocabulary, k=rng.randint(150, 400))
        text = " ".join(words)
        edited = list(words)
        for i in rng.sample(range(len(edited)), 2):
            edited[i] = rng.choice(vocabulary)
        docs += [
            make_doc(text, f"a{a}"),
            make_doc(text.upper(), f"a{a}-upper"),
            make_doc(" ".join(edited), f"a{a}-edited"),
            make_doc(" ".join(edited) + "  ", f"a{a}-edited-ws"),
        ]
    rng.shuffle(docs)
    return docs


# ---------------------------------------------------------------- the signature step


def test_exact_key_ignores_unicode_form_case_and_whitespace():
    text = "Die Straße in Köln\n\nist  gesperrt. Über Nacht."
    variants = [
        text,
        unicodedata.normalize("NFD", text),
        "die straße in köln ist gesperrt. über nacht.",
        "  DIE STRASSE IN KÖLN\tist gesperrt.\r\nÜber Nacht.  ",
    ]
    docs = signed(make_doc(t, f"d{i}") for i, t in enumerate(variants))
    assert len({d.metadata[CONTENT_KEY] for d in docs}) == 1
    assert all(len(d.metadata[CONTENT_KEY]) == 16 for d in docs)
    assert len({d.metadata[MINHASH] for d in docs}) == 1
    assert normalize_for_dedup(variants[1]) == "die strasse in köln ist gesperrt. über nacht."


def test_exact_key_keeps_punctuation_and_words():
    base, *others = signed(
        make_doc(t, str(i)) for i, t in enumerate(["Es regnet.", "Es regnet!", "Es regnete.", "Es regnet"])
    )
    assert all(d.metadata[CONTENT_KEY] != base.metadata[CONTENT_KEY] for d in others)


def test_minhash_layout_short_and_empty_texts():
    params = NearDedupParams(bands=4, rows=3)
    long, short, empty, symbols = signed(
        [make_doc("one two three four five six", "a"), make_doc("two words", "b"), make_doc("", "c")]
        + [make_doc(" -- !! ... ", "d")],
        near=params,
    )
    assert len(long.metadata[MINHASH]) == 4 * params.num_perm
    assert np.frombuffer(short.metadata[MINHASH], "<u4").shape == (12,)
    assert empty.metadata[MINHASH] is None and symbols.metadata[MINHASH] is None
    assert empty.metadata[CONTENT_KEY] != symbols.metadata[CONTENT_KEY]


def test_each_half_can_be_switched_off():
    only_exact, only_near = (
        signed([make_doc("a b c", "a")], near=None)[0],
        signed([make_doc("a b c")], exact=False)[0],
    )
    assert CONTENT_KEY in only_exact.metadata and MINHASH not in only_exact.metadata
    assert MINHASH in only_near.metadata and CONTENT_KEY not in only_near.metadata
    with pytest.raises(ValueError, match="nothing to compute"):
        DedupSignatures(exact=False, near=None)
    with pytest.raises(ValueError):
        NearDedupParams(threshold=0)
    with pytest.raises(ValueError):
        NearDedupParams(rows=0)


def test_step_passes_non_kept_documents_untouched_and_never_changes_status():
    filtered = make_doc("same text", "f", **{STATUS: Status.FILTERED, REASON: "quality:too_short"})
    before = dict(filtered.metadata)
    kept = make_doc("same text", "k")
    out = signed([filtered, kept, make_doc("same text", "k2")])
    assert [d.id for d in out] == ["f", "k", "k2"]
    assert out[0].metadata == before
    assert all(d.metadata[STATUS] == Status.KEPT for d in out[1:])


def test_step_is_picklable_and_deterministic():
    step = DedupSignatures(near=NearDedupParams(seed=3))
    clone = pickle.loads(pickle.dumps(step))
    text = "Eine Kolonne aus einem Dutzend olivgrüner Armee-Trucks fährt an einem Aprilmorgen vorbei."
    a = next(step.run(iter([make_doc(text)])))
    b = next(clone.run(iter([make_doc(text)])))
    assert a.metadata[CONTENT_KEY] == b.metadata[CONTENT_KEY]
    assert a.metadata[MINHASH] == b.metadata[MINHASH]
    other_seed = signed([make_doc(text)], near=NearDedupParams(seed=4))[0]
    assert other_seed.metadata[MINHASH] != a.metadata[MINHASH]


# ---------------------------------------------------------------- decisions


def test_exact_first_then_near_and_duplicate_of_is_always_kept():
    article = " ".join(f"word{i}" for i in range(200))
    near_copy = article.replace("word100", "changed")
    docs = signed(
        [
            make_doc(near_copy, "near-first"),  # order 0: represents the near cluster
            make_doc(article, "original"),  # near duplicate of order 0
            make_doc(article.upper(), "original-copy"),  # exact copy of a near duplicate
            make_doc(near_copy + "\n", "near-copy"),  # exact copy of the representative
            make_doc("something else entirely, with other words", "other"),
        ]
    )
    assert decide(docs) == {
        "original": {"id": "original", "duplicate_of": "near-first", "reason": NEAR_REASON},
        "original-copy": {"id": "original-copy", "duplicate_of": "near-first", "reason": EXACT_REASON},
        "near-copy": {"id": "near-copy", "duplicate_of": "near-first", "reason": EXACT_REASON},
    }
    assert decide(docs, near=None) == {
        "original-copy": {"id": "original-copy", "duplicate_of": "original", "reason": EXACT_REASON},
        "near-copy": {"id": "near-copy", "duplicate_of": "near-first", "reason": EXACT_REASON},
    }
    assert set(decide(docs, exact=False)) == {"original", "original-copy", "near-copy"}


def test_decisions_do_not_depend_on_row_order():
    docs = signed(synthetic_corpus())
    table = keys_table(docs, orders=range(100, 100 + 3 * len(docs), 3))
    expected = find_duplicates(table, NEAR)
    assert expected.schema == DUPLICATES_SCHEMA
    assert expected.num_rows == 3 * 40
    rng = np.random.default_rng(0)
    for _ in range(3):
        shuffled = table.take(rng.permutation(table.num_rows))
        chunked = pa.concat_tables([shuffled.slice(0, 50), shuffled.slice(50)])
        assert find_duplicates(chunked, NEAR).sort_by("id").equals(expected.sort_by("id"))


def test_representative_is_the_first_member_of_its_cluster():
    docs = signed(synthetic_corpus(seed=11))
    order = {d.id: i for i, d in enumerate(docs)}
    decisions = decide(docs)
    clusters = defaultdict(list)
    for doc_id, rep in representatives(order, decisions).items():
        clusters[rep].append(doc_id)
    assert len(clusters) == 40
    for rep, members in clusters.items():
        assert rep not in decisions
        assert order[rep] == min(order[m] for m in members)
        assert len({m.split("-")[0] for m in members}) == 1


def test_rows_without_keys_and_empty_input():
    docs = signed(
        [make_doc("alpha beta gamma delta epsilon", f"d{i}") for i in range(3)] + [make_doc("", "e")]
    )
    docs[1].metadata[CONTENT_KEY] = None
    docs[2].metadata[MINHASH] = None
    docs[2].metadata[CONTENT_KEY] = b"\x00" * 16
    assert decide(docs) == {"d1": {"id": "d1", "duplicate_of": "d0", "reason": NEAR_REASON}}
    assert decide(docs, near=None) == {}
    assert find_duplicates(keys_table([]), NEAR).schema == DUPLICATES_SCHEMA
    assert find_duplicates(pa.table({}), NEAR).num_rows == 0
    no_minhash = keys_table(docs).drop_columns([MINHASH])
    assert find_duplicates(no_minhash, None).num_rows == 0


def test_invalid_keys_are_rejected():
    docs = signed([make_doc("alpha beta", "a"), make_doc("gamma delta", "b")])
    with pytest.raises(ValueError, match="unique"):
        find_duplicates(keys_table(docs, orders=[5, 5]), NEAR)
    with pytest.raises(ValueError, match="bytes"):
        find_duplicates(keys_table(docs), NearDedupParams(bands=2, rows=2))
    with pytest.raises(ValueError, match="'minhash' column"):
        find_duplicates(keys_table(docs).drop_columns([MINHASH]), NEAR)


def test_bucket_with_two_clusters_links_both():
    """A band bucket shared by two clusters: the second is linked in the next verification round."""
    params = NearDedupParams(bands=3, rows=4, threshold=0.8)
    a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    b1 = [1, 2, 3, 4, 50, 51, 52, 53, 60, 61, 62, 63]
    b2 = [1, 2, 3, 4, 50, 51, 52, 99, 60, 61, 62, 98]  # 10/12 equal to b1; shares only band 0 with it
    signatures = np.array([a, a, b1, b2], dtype=np.uint32)
    orders = np.arange(4)

    def links(band: int):
        return bucket_links(orders, band_buckets(signatures, band, params.rows), signatures, params.threshold)

    earlier, later = links(0)
    assert sorted(zip(earlier.tolist(), later.tolist(), strict=True)) == [(0, 1), (2, 3)]
    assert merge_links(4, [links(band) for band in range(3)]).tolist() == [
        0,
        0,
        2,
        2,
    ]


def test_merge_links_roots_are_component_minimum():
    chain = (np.array([5, 4, 3, 2, 7]), np.array([4, 3, 2, 1, 6]))
    assert merge_links(8, [chain]).tolist() == [0, 1, 1, 1, 1, 1, 6, 6]
    assert merge_links(3, []).tolist() == [0, 1, 2]


# ---------------------------------------------------------------- real data


def test_spdx_byte_identical_licences_are_exact_duplicates(shared_data: Path):
    root = shared_data / "dedup" / "spdx_license_texts"
    manifest = list(read_jsonl(root / "manifest.jsonl"))
    docs = [make_doc((root / m["file"]).read_text(encoding="utf-8"), m["id"]) for m in manifest]
    groups = defaultdict(list)
    for m in manifest:
        groups[m["exact_text_group"]].append(m["id"])
    normalized = {d.id: normalize_for_dedup(d.text) for d in docs}

    exact = decide(signed(docs, near=None), near=None)
    assert len(exact) == sum(len(g) - 1 for g in groups.values()) == 45
    for first, *others in groups.values():
        for member in others:
            assert exact[member] == {"id": member, "duplicate_of": first, "reason": EXACT_REASON}
    assert all(normalized[d["id"]] == normalized[d["duplicate_of"]] for d in exact.values())

    both = decide(signed(docs))
    reps = representatives(normalized, both)
    for first, *others in groups.values():
        assert {reps[m] for m in [first, *others]} == {reps[first]}
        assert all(both[m]["reason"] == EXACT_REASON for m in others)
    print(f"spdx: {len(both) - len(exact)} near duplicates among {len(docs)} licence texts")


@pytest.fixture(scope="module")
def fundus_corpus(shared_data: Path) -> VariantCorpus:
    return fundus_variant_docs(shared_data)


def test_fundus_chrome_is_real_template_text(shared_data: Path, fundus_corpus: VariantCorpus):
    """Every publisher's chrome: a realistic number of short page lines, none of them article text."""
    gold = GoldText(fundus_articles(shared_data))
    assert len(fundus_corpus.chrome) >= 40
    for name, chrome in fundus_corpus.chrome.items():
        assert 10 <= len(chrome.header) + len(chrome.footer) <= 25, name
        assert chrome.header and chrome.footer and 15 <= chrome.words <= 130, name
        assert not any(gold.overlaps(line) for line in (*chrome.header, *chrome.footer)), name
    texts = {d.id: d.text for d in fundus_corpus.docs}
    for key, donor in fundus_corpus.chrome_of.items():
        original, own, other = (texts[f"{key}#{kind}"] for kind in ("original", "own_chrome", "other_chrome"))
        assert own == fundus_corpus.chrome[key.rsplit("/", 1)[0]].wrap(original)
        assert other == fundus_corpus.chrome[donor].wrap(original) and donor != key.rsplit("/", 1)[0]


def test_fundus_article_variants_pairwise_f1(fundus_corpus: VariantCorpus):
    """Eight variants per gold article, two in real page chrome (own / another publisher's): every
    article of a publisher carries the same template lines. ``benchmarks/dedup_quality.py`` prints
    the numbers per variant kind and threshold."""
    gold = fundus_corpus.gold
    decisions = decide(signed(fundus_corpus.docs))
    predicted = representatives(gold, decisions)

    precision, recall, f1 = pairwise_scores(gold, predicted)
    print(f"fundus variants: {len(gold)} docs, P={precision:.4f} R={recall:.4f} F1={f1:.4f}")
    assert len(set(gold.values())) >= 70
    merged = merged_gold_pairs(gold, predicted)
    assert not merged, f"different articles (sharing publisher templates) merged: {sorted(merged)[:5]}"
    for key in set(gold.values()):
        same_text = [decisions.get(f"{key}#{name}") for name in ("original", "nfd", "whitespace")]
        assert [d["reason"] for d in same_text if d is not None].count(EXACT_REASON) == 2, key
    assert f1 >= 0.97, f"pairwise F1 {f1:.4f}; per variant kind: {kind_recall(gold, predicted)}"


def test_cs336_mit_licences_are_near_duplicates(shared_data: Path):
    root = shared_data / "dedup" / "cs336_fuzzy_license_docs"
    names = ["rails_mit_license.txt", "react_mit_license.txt", "pytorch_license.txt"]
    docs = signed(make_doc((root / n).read_text(encoding="utf-8"), n) for n in names)
    assert decide(docs) == {
        "react_mit_license.txt": {
            "id": "react_mit_license.txt",
            "duplicate_of": "rails_mit_license.txt",
            "reason": NEAR_REASON,
        }
    }
