"""Lexical matching of Chinese without a tokenizer: character bigrams, and a score that blends
rapidfuzz's edit-distance ratio with bigram overlap (Dice and coverage), which together tolerate typos
and reordered phrases. ``LexicalIndex`` is the index without an encoder; the hybrid index uses the
same score for near-verbatim questions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from rapidfuzz import fuzz

from kb.entries import Hit, IndexedEntry


def bigrams(text: str) -> set[str]:
    chars = [c for c in text if not c.isspace() and c not in ",.?!;:、。\"'()"]
    if len(chars) < 2:
        return set(chars)
    return {chars[i] + chars[i + 1] for i in range(len(chars) - 1)}


def similarity(query: str, query_grams: set[str], phrasing: str, grams: set[str]) -> float:
    """Blend of edit-distance ratio and bigram Dice overlap, in 0..1."""
    ratio = fuzz.ratio(query, phrasing) / 100.0
    if query_grams and grams:
        overlap = len(query_grams & grams)
        dice = 2 * overlap / (len(query_grams) + len(grams))
        # how much of the shorter side is covered: "社保卡丢了" inside a longer phrasing
        cover = overlap / min(len(query_grams), len(grams))
    else:
        dice = cover = 0.0
    return 0.35 * ratio + 0.4 * dice + 0.25 * cover


class LexicalIndex:
    """The entries of one knowledge-base revision, searchable by normalised text."""

    def __init__(self, entries: Iterable[IndexedEntry], revision: int = 0) -> None:
        self.entries = list(entries)
        self.revision = revision
        self._rows = [
            (i, p, bigrams(p)) for i, entry in enumerate(self.entries) for p in entry.phrasings if p
        ]

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]:
        """The best ``limit`` entries valid on ``today`` for the normalised ``query``."""
        if not query:
            return []
        q_grams = bigrams(query)
        best: dict[int, float] = {}
        for i, phrasing, grams in self._rows:
            if q_grams.isdisjoint(grams) and len(q_grams) > 1:
                continue
            score = similarity(query, q_grams, phrasing, grams)
            if score > best.get(i, 0.0):
                best[i] = score
        ranked = sorted(
            (Hit(self.entries[i], s) for i, s in best.items() if self.entries[i].valid_on(today)),
            key=lambda h: h.score,
            reverse=True,
        )
        return ranked[:limit]
