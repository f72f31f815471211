"""Language identification quality and speed: the ``LanguageTagger`` against heliport's top-1 alone.

    .venv/bin/python benchmarks/language_id.py [--min-chars 40] [--skip-cv]

Reads ``../shared/data/lang``: gold lines ``{de,hu,nl,en}.jsonl`` and ``confusers/*.jsonl``
(languages the stage must not take for one of the four), lines of at least ``--min-chars``
characters. For the stage (default thresholds) and for heliport's top-1 label alone it prints
per-language precision / recall / F1, macro-F1 over de/hu/nl/en, the share of each confuser
language's lines kept as one of the four, and documents/s (one process). A confuser line kept as,
say, ``nl`` counts as a false positive in ``nl``'s precision too.

Held-out numbers: the thresholds are the only thing fitted to this data (round values; see the
stage's docstring), so the script refits the de and nl thresholds (hu and en have no confusers to
push them) on all but one part and scores the held-out part: leave-one-source-out (a corpus never
seen while fitting: pessimistic) and 5-fold (every file and source split five ways).

Speed is measured twice: on the lines themselves and on ~2.5 KB documents (consecutive lines of one
source joined, as ``benchmarks/throughput.py`` builds them; best of three runs); model loading is
not timed. The machine is shared and noisy: compare runs made side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("LOGURU_LEVEL", "WARNING")

from datatrove.data import Document  # noqa: E402

from pipelines.stages.language import (  # noqa: E402
    DEFAULT_THRESHOLDS,
    LanguageTagger,
    identifier,
    identify,
    text_prefix,
    to_iso639_1,
)
from schemas.document import LANG, LANG_SCORE, STATUS, Status  # noqa: E402

LANG_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "lang"
TARGETS = ("de", "hu", "nl", "en")
DOC_CHARS = 2500
GRID = [round(0.05 * i, 2) for i in range(19)]  # 0.0 .. 0.9
FP_BUDGET = 0.011  # while refitting: confuser share above this costs 3x its excess in macro-F1
FOLDS = 5
SPEED_REPEATS = 3  # documents/s on the documents: the best of this many runs (the machine is shared)


@dataclass(frozen=True)
class Line:
    text: str
    lang: str  # gold label (a confuser's own language)
    source: str
    confuser: bool


@dataclass(frozen=True)
class Scores:
    per_language: dict[str, tuple[float, float, float]]  # precision, recall, F1
    macro_f1: float
    confuser_rate: dict[str, float]  # per confuser language: share kept as one of the targets
    confuser_overall: float


def load_lines(min_chars: int) -> list[Line]:
    paths = [(LANG_DIR / f"{lang}.jsonl", False) for lang in TARGETS]
    paths += [(path, True) for path in sorted((LANG_DIR / "confusers").glob("*.jsonl"))]
    lines = []
    for path, confuser in paths:
        with path.open(encoding="utf-8") as f:
            for row in map(json.loads, filter(str.strip, f)):
                if len(row["text"]) >= min_chars:
                    lines.append(Line(row["text"], row["lang"], row["source"], confuser))
    return lines


def score(lines: list[Line], kept_as: list[str | None]) -> Scores:
    """``kept_as``: the language each line is kept with, None where it is filtered."""
    hits, claimed, gold = Counter(), Counter(), Counter()
    confusers, confuser_hits = Counter(), Counter()
    for line, lang in zip(lines, kept_as, strict=True):
        if lang in TARGETS:
            claimed[lang] += 1
        if line.confuser:
            confusers[line.lang] += 1
            confuser_hits[line.lang] += lang in TARGETS
        else:
            gold[line.lang] += 1
            hits[line.lang] += lang == line.lang
    per_language = {}
    for lang in TARGETS:
        precision = hits[lang] / claimed[lang] if claimed[lang] else 0.0
        recall = hits[lang] / gold[lang] if gold[lang] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_language[lang] = (precision, recall, f1)
    return Scores(
        per_language=per_language,
        macro_f1=sum(f1 for _, _, f1 in per_language.values()) / len(TARGETS),
        confuser_rate={lang: confuser_hits[lang] / n for lang, n in sorted(confusers.items())},
        confuser_overall=sum(confuser_hits.values()) / max(1, sum(confusers.values())),
    )


def apply_thresholds(identified: list[tuple[str, float]], thresholds: dict[str, float]) -> list[str | None]:
    return [lang if lang in TARGETS and p >= thresholds[lang] else None for lang, p in identified]


def fit_thresholds(lines: list[Line], identified: list[tuple[str, float]]) -> dict[str, float]:
    """de and nl thresholds maximising macro-F1, a confuser share above ``FP_BUDGET`` penalised."""
    best: tuple[float, dict[str, float]] | None = None
    for de in GRID:
        for nl in GRID:
            thresholds = {**DEFAULT_THRESHOLDS, "de": de, "nl": nl}
            result = score(lines, apply_thresholds(identified, thresholds))
            objective = result.macro_f1 - 3.0 * max(0.0, result.confuser_overall - FP_BUDGET)
            if best is None or objective > best[0] + 1e-12:
                best = (objective, thresholds)
    assert best is not None
    return best[1]


def held_out(lines: list[Line], identified: list[tuple[str, float]], fold_of: list[int]) -> Scores:
    """Refit thresholds without each fold, score every line with the thresholds fitted without it."""
    kept_as: list[str | None] = [None] * len(lines)
    for fold in sorted(set(fold_of)):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        thresholds = fit_thresholds([lines[i] for i in train], [identified[i] for i in train])
        test = [i for i, f in enumerate(fold_of) if f == fold]
        for i, lang in zip(test, apply_thresholds([identified[i] for i in test], thresholds), strict=True):
            kept_as[i] = lang
    return score(lines, kept_as)


def source_folds(lines: list[Line]) -> list[int]:
    sources = sorted({line.source for line in lines})
    return [sources.index(line.source) for line in lines]


def interleaved_folds(lines: list[Line]) -> list[int]:
    """Every (language, source) group dealt round-robin into ``FOLDS`` folds, in file order."""
    seen: Counter[tuple[str, str]] = Counter()
    folds = []
    for line in lines:
        folds.append(seen[line.lang, line.source] % FOLDS)
        seen[line.lang, line.source] += 1
    return folds


def build_documents(lines: list[Line]) -> list[tuple[str, str]]:
    """(language, text): consecutive gold lines of one source joined into ~``DOC_CHARS``-char documents."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for line in lines:
        if not line.confuser:
            groups[line.lang, line.source].append(line.text)
    documents = []
    for (lang, _), texts in groups.items():
        current = ""
        for text in texts:
            current = f"{current} {text}" if current else text
            if len(current) >= DOC_CHARS:
                documents.append((lang, current))
                current = ""
    return documents


def run_stage(stage: LanguageTagger, texts: Iterable[str]) -> tuple[list[dict], float]:
    """Each document's metadata after the stage, and documents/s."""
    docs = [Document(text=text, id=str(i), metadata={STATUS: Status.KEPT}) for i, text in enumerate(texts)]
    start = time.perf_counter()
    out = [doc.metadata for doc in stage.run(iter(docs))]
    return out, len(docs) / (time.perf_counter() - start)


def heliport_top1(texts: list[str]) -> tuple[list[str | None], float]:
    """heliport's best label of the same prefix the stage classifies, kept when it is a target; docs/s."""
    start = time.perf_counter()
    model = identifier()
    labels = [to_iso639_1(model.identify_topk_with_score(text_prefix(text), 1)[0][0]) for text in texts]
    rate = len(texts) / (time.perf_counter() - start)
    return [lang if lang in TARGETS else None for lang in labels], rate


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def print_scores(title: str, result: Scores, docs_per_s: float | None = None) -> None:
    speed = f", {docs_per_s:,.0f} docs/s" if docs_per_s else ""
    print(f"\n{title}: macro-F1 {result.macro_f1:.4f}, confusers kept {result.confuser_overall:.2%}{speed}")
    for lang, (precision, recall, f1) in result.per_language.items():
        print(f"  {lang}  P {precision:.4f}  R {recall:.4f}  F1 {f1:.4f}")
    print(
        "  confusers kept as de/hu/nl/en: "
        + ", ".join(f"{k} {v:.1%}" for k, v in result.confuser_rate.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-chars", type=int, default=40)
    parser.add_argument("--skip-cv", action="store_true", help="leave out the held-out refits")
    args = parser.parse_args()

    lines = load_lines(args.min_chars)
    texts = [line.text for line in lines]
    n_confusers = sum(line.confuser for line in lines)
    print(
        f"{len(lines) - n_confusers} target lines, {n_confusers} confuser lines (>= {args.min_chars} chars)"
    )
    load_s = timed(
        lambda: identify("Die Modelle werden einmal geladen und dann wiederverwendet.", frozenset({"de"}))
    )
    print(f"model loading {load_s:.1f} s (not timed below)")

    stage = LanguageTagger()
    metadata, stage_rate = run_stage(stage, texts)
    stage_kept = [m[LANG] if m[STATUS] == Status.KEPT else None for m in metadata]
    baseline_kept, baseline_rate = heliport_top1(texts)
    print_scores("heliport top-1 alone (baseline)", score(lines, baseline_kept), baseline_rate)
    print_scores(f"LanguageTagger {DEFAULT_THRESHOLDS}", score(lines, stage_kept), stage_rate)

    if not args.skip_cv:
        identified = [(m[LANG], m[LANG_SCORE]) for m in metadata]
        print_scores("held out, leave one source out", held_out(lines, identified, source_folds(lines)))
        print_scores(f"held out, {FOLDS}-fold", held_out(lines, identified, interleaved_folds(lines)))

    documents = build_documents(lines)
    doc_texts = [text for _, text in documents]
    runs = [run_stage(LanguageTagger(), doc_texts) for _ in range(SPEED_REPEATS)]
    doc_metadata, doc_rate = runs[0][0], max(rate for _, rate in runs)
    doc_baseline_rate = max(heliport_top1(doc_texts)[1] for _ in range(SPEED_REPEATS))
    mean_chars = sum(map(len, doc_texts)) / len(documents)
    right = sum(
        m[STATUS] == Status.KEPT and m[LANG] == lang
        for m, (lang, _) in zip(doc_metadata, documents, strict=True)
    )
    print(
        f"\n{len(documents)} documents of ~{mean_chars:,.0f} chars: stage {doc_rate:,.0f} docs/s "
        f"(heliport top-1 alone {doc_baseline_rate:,.0f} docs/s); {right}/{len(documents)} kept as gold"
    )


if __name__ == "__main__":
    main()
