"""Duplicate suggestions: which text similarity, at which threshold, and what a lookup costs.

    python -m bench.similarity              # the table in docs/desk.md
    python -m bench.similarity --questions 1000 --lookups 200

Every method scores each pair of tests/data/paraphrases.csv 0-100; a pair scoring at or above
a threshold counts as "suggested". Precision = suggested pairs that are paraphrases / suggested
pairs; recall = paraphrases suggested / paraphrases. Each method's threshold is chosen on the
tuning half of the pairs (split()) and reported on the held-out half and on all pairs.

The methods:
- rapidfuzz token_set_ratio, token_sort_ratio and WRatio, each on the normalised text (case,
  punctuation and stop words gone, panel.similar.normalise); token_set_ratio also on the raw
  text, to show what the normalisation is worth;
- rapidfuzz WRatio on Snowball-stemmed words, with and without a short careers synonym table;
- TF-IDF cosine (scikit-learn), word 1-2-grams and char_wb 3-5-grams, fitted on the texts;
- blends: the maximum or the mean of WRatio and TF-IDF;
- SQLite FTS5 bm25 (an index-based ranking, porter stemmer): the pairs' texts are indexed as
  one event's questions; the first text is the query (its normalised words, OR-ed), and the
  score is the second's bm25 as a share of the best possible, the first's own.
Stemming and TF-IDF need the bench extra: pip install -e '.[bench]'.

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

from rapidfuzz import fuzz, process

from panel import similar
from panel.domain import Question, QuestionStatus

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "paraphrases.csv"
THRESHOLDS = range(20, 100, 5)  # TF-IDF cosines run lower than rapidfuzz's ratios
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


def split(pairs: Sequence[Pair]) -> tuple[list[Pair], list[Pair]]:
    """The tuning half and the held-out half. A topic is a first question with its paraphrase
    and its same-topic non-paraphrase; topics alternate in file order (1st, 3rd, ... tune), so
    both halves are balanced and no first question is in both."""
    topics = {first: i for i, first in enumerate(dict.fromkeys(p.first for p in pairs))}
    tuning = [p for p in pairs if topics[p.first] % 2 == 0]
    return tuning, [p for p in pairs if topics[p.first] % 2 == 1]


def best_threshold(scores: Sequence[float], pairs: Sequence[Pair]) -> Result | None:
    """The threshold with the best F1 among those with precision >= MIN_PRECISION."""
    results = [measure(scores, pairs, t) for t in THRESHOLDS]
    usable = [r for r in results if r.precision >= MIN_PRECISION and r.recall > 0]
    return max(usable, key=lambda r: (r.f1, r.precision)) if usable else None


@dataclass(frozen=True)
class Evaluation:
    """A method's threshold, chosen on the tuning half, and what it gives on each part."""

    method: str
    tuning: Result
    held_out: Result
    all_pairs: Result


def evaluate(
    name: str, pair_score: Callable[[str, str], float], pairs: Sequence[Pair]
) -> Evaluation | None:
    tuning, held_out = split(pairs)
    chosen = best_threshold([pair_score(p.first, p.second) for p in tuning], tuning)
    if chosen is None:
        return None

    def at_chosen(part: Sequence[Pair]) -> Result:
        return measure([pair_score(p.first, p.second) for p in part], part, chosen.threshold)

    return Evaluation(name, chosen, at_chosen(held_out), at_chosen(pairs))


# -- the methods: each scores a pair, given every text of the "event" --------------------------
def rapidfuzz_method(
    scorer: Callable[..., float], prepare: Callable[[str], str]
) -> Callable[[str, str], float]:
    def pair_score(first: str, second: str) -> float:
        return float(scorer(prepare(first), prepare(second)))

    return pair_score


# A short careers-domain table: words that ask the same thing, mapped to one (after stemming).
SYNONYMS = {
    "universiti": "degre",
    "uni": "degre",
    "salari": "pay",
    "paid": "pay",
    "earn": "pay",
    "wage": "pay",
    "apprentic": "apprenticeship",
}


def stemmer(synonyms: bool) -> Callable[[str], str]:
    """normalise, then Snowball's English stemmer ("nurses" -> "nurs"), then SYNONYMS."""
    import snowballstemmer  # the bench extra, like scikit-learn below

    stem = snowballstemmer.stemmer("english").stemWord
    table = SYNONYMS if synonyms else {}

    def prepare(text: str) -> str:
        words = similar.normalise(text.replace("-", " ")).replace("'", "").split()
        return " ".join(table.get(s, s) for s in map(stem, words))

    return prepare


class TfidfCosine:
    """Cosine of TF-IDF vectors (scikit-learn), fitted on the event's texts: the mean of word
    unigrams+bigrams and character 3-5-grams within words (char_wb), x100."""

    def __init__(self, texts: Sequence[str], prepare: Callable[[str], str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.prepare = prepare
        docs = [prepare(t) for t in texts]
        self.vectorizers = [
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(docs),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(docs),
        ]

    def pair_score(self, first: str, second: str) -> float:
        both = [self.prepare(first), self.prepare(second)]
        cosines = []
        for vectorizer in self.vectorizers:
            rows = vectorizer.transform(both)  # rows are L2-normalised: the dot is the cosine
            cosines.append(float(rows[0].multiply(rows[1]).sum()))
        return 100 * sum(cosines) / len(cosines)


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


CURRENT = "rapidfuzz WRatio, normalised (panel.similar)"


def methods(pairs: Sequence[Pair]) -> dict[str, Callable[[str, str], float]]:
    texts = list(dict.fromkeys(t for p in pairs for t in (p.first, p.second)))
    stemmed, with_synonyms = stemmer(False), stemmer(True)
    wratio = rapidfuzz_method(fuzz.WRatio, similar.normalise)
    wratio_synonyms = rapidfuzz_method(fuzz.WRatio, with_synonyms)
    tfidf = TfidfCosine(texts, similar.normalise).pair_score
    return {
        CURRENT: wratio,
        "rapidfuzz token_set_ratio, normalised": rapidfuzz_method(
            fuzz.token_set_ratio, similar.normalise
        ),
        "rapidfuzz token_sort_ratio, normalised": rapidfuzz_method(
            fuzz.token_sort_ratio, similar.normalise
        ),
        "rapidfuzz token_set_ratio, raw text": rapidfuzz_method(fuzz.token_set_ratio, str.casefold),
        "SQLite FTS5 bm25 (porter)": Bm25Index(texts).pair_score,
        "rapidfuzz WRatio, stemmed": rapidfuzz_method(fuzz.WRatio, stemmed),
        "rapidfuzz WRatio, stemmed + synonyms": wratio_synonyms,
        "TF-IDF cosine, normalised": tfidf,
        "TF-IDF cosine, stemmed + synonyms": TfidfCosine(texts, with_synonyms).pair_score,
        "max(WRatio stemmed + synonyms, TF-IDF)": lambda a, b: max(
            wratio_synonyms(a, b), tfidf(a, b)
        ),
        "mean(WRatio, TF-IDF)": lambda a, b: (wratio(a, b) + tfidf(a, b)) / 2,
        "mean(WRatio stemmed + synonyms, TF-IDF)": lambda a, b: (
            (wratio_synonyms(a, b) + tfidf(a, b)) / 2
        ),
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
    bodies = [q.body for q in event]
    new = event[-1]
    built = time.perf_counter()
    index = Bm25Index(bodies)
    build_ms = 1000 * (time.perf_counter() - built)
    pending = event[-50:]
    with_synonyms = stemmer(True)

    def stemmed_lookup() -> object:
        # The stems of every question are worked out again, as the desk would on each draw.
        return process.extractOne(with_synonyms(new.body), [with_synonyms(b) for b in bodies])

    def tfidf_lookup() -> object:
        # Fitted on the event each time: its questions change between two draws of the queue.
        scorer = TfidfCosine(bodies, similar.normalise)
        query = [similar.normalise(new.body)]
        return [(v.transform(bodies) @ v.transform(query).T).max() for v in scorer.vectorizers]

    rare = max(3, lookups // 20)
    return [
        (
            "panel.similar.suggest_each (rapidfuzz WRatio), one new question",
            median_ms(lambda: similar.suggest_each([new], event), lookups),
        ),
        (
            "panel.similar.suggest_each, 50 pending questions at once (the desk's queue)",
            median_ms(lambda: similar.suggest_each(pending, event), rare),
        ),
        ("rapidfuzz WRatio, stemmed + synonyms: one new question", median_ms(stemmed_lookup, rare)),
        ("TF-IDF cosine: fit on the event, one new question", median_ms(tfidf_lookup, rare)),
        ("SQLite FTS5 bm25: build the event's index", build_ms),
        (
            "SQLite FTS5 bm25: one query on the built index",
            median_ms(lambda: index.ranks(new.body), lookups),
        ),
    ]


def row(e: Evaluation) -> str:
    parts = (e.tuning, e.held_out, e.all_pairs)
    return (
        f"| {e.method} | {e.tuning.threshold} | "
        + " | ".join(f"{r.precision:.2f} | {r.recall:.2f} | {r.f1:.2f}" for r in parts)
        + " |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.similarity", description=__doc__)
    parser.add_argument("--questions", type=int, default=1000, help="questions in the event")
    parser.add_argument("--lookups", type=int, default=200, help="timed lookups (median)")
    args = parser.parse_args(argv)
    pairs = load_pairs()
    tuning, held_out = split(pairs)
    print(
        f"{len(pairs)} pairs ({sum(p.paraphrase for p in pairs)} paraphrases) from {DATA.name}: "
        f"{len(tuning)} to tune ({sum(p.paraphrase for p in tuning)} paraphrases), "
        f"{len(held_out)} held out ({sum(p.paraphrase for p in held_out)} paraphrases)\n"
    )
    print(f"Threshold per method: the best F1 on the tuning half with precision >= {MIN_PRECISION}")
    print("(thresholds 20 to 95 in steps of 5); precision, recall and F1 at it on each part.\n")
    print("| method | threshold | tuning P | R | F1 | held-out P | R | F1 | all P | R | F1 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    evaluations = []
    for name, pair_score in methods(pairs).items():
        evaluation = evaluate(name, pair_score, pairs)
        if evaluation is None:
            print(f"| {name} | none reaches precision {MIN_PRECISION} on the tuning half |")
        else:
            evaluations.append(evaluation)
            print(row(evaluation))
    kept = [e for e in evaluations if e.held_out.precision >= MIN_PRECISION]
    best = max(kept, key=lambda e: (e.held_out.f1, e.held_out.precision))
    current_f1 = next(e.held_out.f1 for e in evaluations if e.method == CURRENT)
    print(
        f"\nBest held-out F1 with held-out precision >= {MIN_PRECISION}: {best.method} "
        f"({best.held_out.f1:.2f}; {CURRENT}: {current_f1:.2f}). docs/desk.md says why the "
        "desk keeps its method unless another finds more paraphrases on the held-out half."
    )

    current = rapidfuzz_method(fuzz.WRatio, similar.normalise)
    print(f"\n{CURRENT} around its threshold (precision/recall):\n")
    print("| threshold | tuning | held-out | all |\n|---|---|---|---|")
    for threshold in range(75, 100, 5):
        cells = []
        for part in (tuning, held_out, pairs):
            r = measure([current(p.first, p.second) for p in part], part, threshold)
            cells.append(f"{r.precision:.2f}/{r.recall:.2f}")
        print(f"| {threshold} | " + " | ".join(cells) + " |")
    print(f"\npanel.similar uses threshold {similar.THRESHOLD}: {similar.MEASURED.sentence()}.")

    print(f"\nCost at {args.questions} questions in the event (median of {args.lookups}):\n")
    print("| what | ms |\n|---|---|")
    for what, ms in costs(pairs, args.questions, args.lookups):
        print(f"| {what} | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
