"""Duplicate suggestions: which text similarity, at which threshold, and what a lookup costs.

    python -m bench.similarity              # the table in docs/desk.md
    python -m bench.similarity --questions 1000 --lookups 200

Every method scores each pair of tests/data/paraphrases.csv 0-100; a pair scoring at or above
a threshold counts as "suggested". Precision = suggested pairs that are paraphrases / suggested
pairs; recall = paraphrases suggested / paraphrases. The methods:

- rapidfuzz token_set_ratio, token_sort_ratio and WRatio, each on the normalised text (case,
  punctuation and stop words gone, panel.similar.normalise); token_set_ratio also on the raw
  text, to show what the normalisation is worth;
- SQLite FTS5 bm25 (an index-based ranking, porter stemmer): the pairs' texts are indexed as
  one event's questions; the first text is the query (its normalised words, OR-ed), and the
  score is the second's bm25 as a share of the best possible, the first's own.

Cost: one lookup is one new question against an event of --questions questions (made from the
data set's texts with extra words drawn from its vocabulary), the median of --lookups runs.
For FTS5 the index is built once per event (its cost printed apart) and queried per lookup.
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rapidfuzz import fuzz

from panel import similar
from panel.domain import Question, QuestionStatus

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "paraphrases.csv"
THRESHOLDS = range(40, 100, 5)
# A suggestion should be right more often than a coin toss on this set (half paraphrases):
# among thresholds with at least this precision, the best F1 wins.
MIN_PRECISION = 0.6


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    paraphrase: bool


def load_pairs(path: Path = DATA) -> list[Pair]:
    """The labelled pairs: first, second, paraphrase (1 or 0)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [Pair(r["first"], r["second"], r["paraphrase"] == "1") for r in csv.DictReader(f)]


@dataclass(frozen=True)
class Result:
    threshold: int
    precision: float
    recall: float
    f1: float


def measure(scores: Sequence[float], pairs: Sequence[Pair], threshold: float) -> Result:
    """Precision, recall and F1 of "suggest when score >= threshold" on the labelled pairs."""
    hits = [s >= threshold for s in scores]
    true_pos = sum(h and p.paraphrase for h, p in zip(hits, pairs, strict=True))
    suggested, paraphrases = sum(hits), sum(p.paraphrase for p in pairs)
    precision = true_pos / suggested if suggested else 1.0
    recall = true_pos / paraphrases if paraphrases else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Result(int(threshold), precision, recall, f1)


# -- the methods: each scores a pair, given every text of the "event" --------------------------
def rapidfuzz_method(scorer: Callable[..., float], normalised: bool) -> Callable[..., float]:
    prepare = similar.normalise if normalised else str.casefold

    def pair_score(first: str, second: str) -> float:
        return float(scorer(prepare(first), prepare(second)))

    return pair_score


class Bm25Index:
    """An in-memory FTS5 table of an event's questions, ranked by bm25."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE q USING fts5(body, tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO q(rowid, body) VALUES (?, ?)", enumerate(texts, 1))
        self.ids = {text: i for i, text in enumerate(texts, 1)}

    @staticmethod
    def query(text: str) -> str:
        words = similar.normalise(text).replace("'", " ").split()
        return " OR ".join(f'"{w}"' for w in words)

    def ranks(self, text: str) -> dict[int, float]:
        """bm25 of every row that matches `text`'s words (SQLite: lower is better; negated)."""
        query = self.query(text)
        if not query:
            return {}
        rows = self.db.execute("SELECT rowid, bm25(q) FROM q WHERE q MATCH ?", (query,))
        return {rowid: -rank for rowid, rank in rows}

    def pair_score(self, first: str, second: str) -> float:
        ranks = self.ranks(first)
        best = ranks.get(self.ids[first], 0.0)
        return min(100.0, 100 * ranks.get(self.ids[second], 0.0) / best) if best > 0 else 0.0


def methods(pairs: Sequence[Pair]) -> dict[str, Callable[[str, str], float]]:
    texts = list(dict.fromkeys(t for p in pairs for t in (p.first, p.second)))
    return {
        "rapidfuzz token_set_ratio (normalised)": rapidfuzz_method(fuzz.token_set_ratio, True),
        "rapidfuzz token_set_ratio (raw)": rapidfuzz_method(fuzz.token_set_ratio, False),
        "rapidfuzz token_sort_ratio (normalised)": rapidfuzz_method(fuzz.token_sort_ratio, True),
        "rapidfuzz WRatio (normalised)": rapidfuzz_method(fuzz.WRatio, True),
        "SQLite FTS5 bm25 (porter)": Bm25Index(texts).pair_score,
    }


# -- cost ---------------------------------------------------------------------------------------
def synthetic_event(pairs: Sequence[Pair], size: int, seed: int = 14) -> list[Question]:
    """`size` published questions made from the data set's texts plus random words of it."""
    rng = random.Random(seed)
    texts = [t for p in pairs for t in (p.first, p.second)]
    vocabulary = sorted({w for t in texts for w in t.split()})
    now = datetime(2026, 9, 15, 12, tzinfo=UTC)
    return [
        Question(
            id=i,
            event_id=1,
            body=f"{rng.choice(texts)} {' '.join(rng.sample(vocabulary, rng.randint(0, 12)))}",
            display_name="",
            reader_id="r",
            status=QuestionStatus.APPROVED,
            created_at=now,
        )
        for i in range(1, size + 1)
    ]


def median_ms(run: Callable[[], object], times: int) -> float:
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        run()
        taken.append(time.perf_counter() - start)
    return 1000 * statistics.median(taken)


def costs(pairs: Sequence[Pair], size: int, lookups: int) -> list[tuple[str, float]]:
    event = synthetic_event(pairs, size)
    new = event[-1]
    built = time.perf_counter()
    index = Bm25Index([q.body for q in event])
    build_ms = 1000 * (time.perf_counter() - built)
    pending = event[-50:]
    return [
        (
            "panel.similar.suggest_each (rapidfuzz WRatio), one new question",
            median_ms(lambda: similar.suggest_each([new], event), lookups),
        ),
        (
            "panel.similar.suggest_each, 50 pending questions at once (the desk's queue)",
            median_ms(lambda: similar.suggest_each(pending, event), max(5, lookups // 20)),
        ),
        ("SQLite FTS5 bm25: build the event's index", build_ms),
        (
            "SQLite FTS5 bm25: one query on the built index",
            median_ms(lambda: index.ranks(new.body), lookups),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.similarity", description=__doc__)
    parser.add_argument("--questions", type=int, default=1000, help="questions in the event")
    parser.add_argument("--lookups", type=int, default=200, help="timed lookups (median)")
    args = parser.parse_args(argv)
    pairs = load_pairs()
    paraphrases = sum(p.paraphrase for p in pairs)
    print(f"{len(pairs)} pairs ({paraphrases} paraphrases) from {DATA.name}\n")
    print("| method | threshold | precision | recall | F1 |\n|---|---|---|---|---|")
    best: list[tuple[str, Result]] = []
    for name, pair_score in methods(pairs).items():
        scores = [pair_score(p.first, p.second) for p in pairs]
        results = [measure(scores, pairs, t) for t in THRESHOLDS]
        for r in results:
            print(f"| {name} | {r.threshold} | {r.precision:.2f} | {r.recall:.2f} | {r.f1:.2f} |")
        usable = [r for r in results if r.precision >= MIN_PRECISION and r.recall > 0]
        if usable:
            best.append((name, max(usable, key=lambda r: (r.f1, r.precision))))
    print(f"\nBest threshold per method (best F1 with precision >= {MIN_PRECISION}):\n")
    print("| method | threshold | precision | recall | F1 |\n|---|---|---|---|---|")
    for name, r in best:
        print(f"| {name} | {r.threshold} | {r.precision:.2f} | {r.recall:.2f} | {r.f1:.2f} |")
    name, chosen = max(best, key=lambda b: (b[1].f1, b[1].precision))
    print(f"\nChosen: {name} at {chosen.threshold}.")
    print(f"panel.similar uses threshold {similar.THRESHOLD}: {similar.MEASURED.sentence()}.")
    print(f"\nCost at {args.questions} questions in the event (median of {args.lookups}):\n")
    print("| what | ms |\n|---|---|")
    for what, ms in costs(pairs, args.questions, args.lookups):
        print(f"| {what} | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
