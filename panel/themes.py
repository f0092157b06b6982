"""Themes for the digest: readers' questions grouped by a word they share.

The method is meant to be explained in one breath to an editor (docs/desk.md, "The digest"):

1. Each question's *keywords* are its words (panel/similar.py's normalisation: case and
   punctuation gone, stop words dropped), less a few words every question uses ("need",
   "become", "job"…) and the words of the event's title, each cut to a crude stem (plural
   "s", "-ing", "-ed", a final "e"), so "nurse", "nurses" and "nursing" count as one word.
2. The keyword found in the most questions (at least two) names the first theme, which takes
   those questions; ties go to the keyword whose questions have more votes, then the
   alphabet. Repeat with the questions left, up to MAX_THEMES themes.
3. Whatever is left goes under "Other". A word in more than half of the questions is too
   common to sort anything, so it never names a theme.

Pure Python over questions already read, so both stores give the same themes, and it needs
nothing that is not already installed: no model, no network.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from panel.similar import STOP_WORDS

MAX_THEMES = 8
MIN_QUESTIONS = 2  # a theme of one question sorts nothing
OTHER = "Other"
# Words that say how a question is asked rather than what about.
_ASKING_WORDS = """
    actually advice anyone anything become becoming best better day does going good help
    honestly job know like lot make many more most much need new now other people really
    someone something start still take tell thing things think time want way work year years
    """
ASKING_WORDS = frozenset(_ASKING_WORDS.split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MIN_LETTERS = 3


class Asked(Protocol):
    """What themes need of a question: its text and its votes."""

    @property
    def body(self) -> str: ...

    @property
    def upvotes(self) -> int: ...


@dataclass(frozen=True)
class Grouped:
    """One theme: its readable label, the stem that defines it (None for "Other") and the
    positions, in the input, of its questions."""

    label: str
    stem: str | None
    members: tuple[int, ...]


def stem(word: str) -> str:
    """A crude English stem, enough to put plurals and "-ing" forms together."""
    word = word.casefold().removesuffix("'s")
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The words of `text` as typed (case kept), in order."""
    return _WORD.findall(text)


def _counts(word: str, ignored: frozenset[str]) -> bool:
    folded = word.casefold()
    return (
        len(folded) >= _MIN_LETTERS
        and folded not in STOP_WORDS
        and folded not in ASKING_WORDS
        and stem(folded) not in ignored
    )


def keywords(text: str, ignored: frozenset[str] = frozenset()) -> dict[str, str]:
    """Each keyword's stem in `text`, with the first form it was typed in."""
    found: dict[str, str] = {}
    for word in words(text):
        if _counts(word, ignored):
            found.setdefault(stem(word), word)
    return found


def title_stems(title: str) -> frozenset[str]:
    """The stems of an event's title: in every question's context, so they sort nothing."""
    return frozenset(stem(w) for w in words(title))


def label_for(forms: Sequence[str]) -> str:
    """The most common typed form of a keyword, with a capital first letter."""
    counted = Counter(forms)
    # Lower-case forms win ties over "NURSING" shouted once; then the shortest, then A-Z.
    best = min(counted, key=lambda f: (-counted[f], f != f.casefold(), len(f), f.casefold()))
    return best[:1].upper() + best[1:]


def themes(questions: Sequence[Asked], title: str = "") -> list[Grouped]:
    """The questions grouped by theme (largest first), then "Other" if anything is left."""
    ignored = title_stems(title)
    found = [keywords(q.body, ignored) for q in questions]
    # Too common to sort anything: in more than half of them (once there are a few).
    counts = Counter(s for k in found for s in k)
    if len(questions) >= 4:
        ignored |= {s for s, n in counts.items() if n * 2 > len(questions)}
    left = list(range(len(questions)))
    grouped: list[Grouped] = []
    while left and len(grouped) < MAX_THEMES:
        holders: dict[str, list[int]] = {}
        for i in left:
            for s in found[i]:
                if s not in ignored:
                    holders.setdefault(s, []).append(i)
        ranked = sorted(
            (s for s, held in holders.items() if len(held) >= MIN_QUESTIONS),
            key=lambda s: (-len(holders[s]), -sum(questions[i].upvotes for i in holders[s]), s),
        )
        if not ranked:
            break
        best = ranked[0]
        members = holders[best]
        grouped.append(Grouped(label_for([found[i][best] for i in members]), best, tuple(members)))
        left = [i for i in left if i not in members]
    if left:
        grouped.append(Grouped(OTHER, None, tuple(left)))
    return grouped
