"""The digest's themes (panel/themes.py) on the paraphrase set, and what grouping costs.

    python -m bench.themes                 # the figures in docs/desk.md
    python -m bench.themes --questions 2000

Every distinct question of tests/data/paraphrases.csv is put through `themes` at once, as
one event's questions to the whole panel. Reported: the themes (label and size), how many
questions land in a real theme rather than "Other", and for the labelled pairs how often the
two questions share a theme: paraphrases should, other questions on the same topic may.
Cost: the median time to group --questions questions drawn from the set (words shuffled
within each question so they are not all alike), over --runs runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass

from bench.similarity import load_pairs
from panel.themes import OTHER, themes


@dataclass(frozen=True)
class Asked:
    body: str
    upvotes: int = 0


def same_theme_share(pairs: list[tuple[str, str]], theme_of: dict[str, str]) -> float:
    """The share of pairs whose two questions are in the same real theme (not "Other")."""
    same = sum(theme_of[a] == theme_of[b] != OTHER for a, b in pairs)
    return same / len(pairs) if pairs else 0.0


@dataclass(frozen=True)
class Figures:
    """What docs/desk.md quotes (tests/test_digest.py checks that it does)."""

    questions: int
    groups: list[tuple[str, int]]  # label, size
    themed: int  # questions in a theme other than "Other"
    paraphrases_together: float  # share of paraphrase pairs in one theme
    others_together: float  # share of same-topic non-paraphrase pairs in one theme

    def sentence(self) -> str:
        return (
            f"in a theme (not Other): {self.themed} of {self.questions} "
            f"({self.themed / self.questions:.0%})"
        )


def figures() -> Figures:
    """The themes of every distinct question of the paraphrase set, taken as one event's."""
    pairs = load_pairs()
    texts = sorted({p.first for p in pairs} | {p.second for p in pairs})
    found = themes([Asked(t) for t in texts])
    theme_of = {texts[i]: t.label for t in found for i in t.members}

    def together(paraphrase: bool) -> float:
        chosen = [(p.first, p.second) for p in pairs if p.paraphrase == paraphrase]
        return same_theme_share(chosen, theme_of)

    return Figures(
        questions=len(texts),
        groups=[(t.label, len(t.members)) for t in found],
        themed=sum(len(t.members) for t in found if t.stem is not None),
        paraphrases_together=together(True),
        others_together=together(False),
    )


def grouping_seconds(questions: int, runs: int) -> float:
    """The median time to group `questions` questions made from the set's words."""
    texts = sorted({p.first for p in load_pairs()})
    rng = random.Random(17)
    many = []
    for _ in range(questions):
        words = rng.choice(texts).split()
        rng.shuffle(words)
        many.append(Asked(" ".join(words), rng.randrange(10)))
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        themes(many)
        took.append(time.perf_counter() - start)
    return statistics.median(took)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.themes", description=__doc__)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    found = figures()
    print(f"{found.questions} questions, {len(found.groups)} groups:")
    for label, size in found.groups:
        print(f"  {label}: {size}")
    print(found.sentence())
    print(f"paraphrase pairs in the same theme: {found.paraphrases_together:.0%}")
    print(f"other same-topic pairs in the same theme: {found.others_together:.0%}")
    took = grouping_seconds(args.questions, args.runs)
    print(f"grouping {args.questions} questions: {took * 1000:.0f} ms (median of {args.runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
