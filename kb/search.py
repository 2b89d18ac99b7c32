"""Searching the knowledge base and deciding whether to answer, offer choices, or not answer at all.

The index holds every entry's question and alternate phrasings; an entry scores its best phrasing.
Scoring blends rapidfuzz's edit-distance ratio with character-bigram overlap (Dice), which together
tolerate typos and reordered phrases in Chinese without a tokenizer. Only entries that are published
and inside their validity window on the day of the question can answer.

The index is derived state: each worker builds it from the database and rebuilds it when the
knowledge base's revision stamp moves, so every worker serves an edit within one request of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import KbEntry, current_revision, full_answer

if TYPE_CHECKING:
    from kb.encoders import Encoder


@dataclass(frozen=True)
class IndexedEntry:
    public_id: str
    unit: str
    question: str
    answer: str
    spoken_answer: str | None
    keywords: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None
    version: int
    phrasings: tuple[str, ...]  # normalised question and alternate phrasings

    def valid_on(self, day: date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_until and day > self.valid_until)


@dataclass(frozen=True)
class Hit:
    entry: IndexedEntry
    score: float  # 0..1


@dataclass(frozen=True)
class Thresholds:
    """When to answer, offer choices, or pass: calibrated for the hybrid index's confidence
    (kb.hybrid.confidence) on tests/data/kb_dev.jsonl with ``python -m kb.benchmark --calibrate``, checked
    on the held-out tests/data/kb_test.jsonl (tests/kb/test_quality.py)."""

    # the best entry's confidence must reach this to answer at once: on the dev set the pair answered
    # 42 of 110 answerable questions, 1 wrongly, and none of the 35 unanswerable ones
    answer: float = 0.47
    margin: float = 0.14  # …and lead the next entry by this much: unanswerable questions rarely do
    clarify: float = 0.44  # choices below this are not offered: 19 of the 35 unanswerable get none
    choices: int = 3
    close: float = 0.15  # entries within this of the best are offered as choices
    # a near-verbatim match answers even when a sibling entry is close ("身份证丢了" vs "驾驶证丢了")
    sure: float = 0.97
    sure_margin: float = 0.04


@dataclass(frozen=True)
class KbDecision:
    kind: str | None  # "answer" | "clarify" | None
    hits: tuple[Hit, ...]

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if not c.isspace() and c not in ",.?!;:、。\"'()"]
    if len(chars) < 2:
        return set(chars)
    return {chars[i] + chars[i + 1] for i in range(len(chars) - 1)}


def _similarity(query: str, query_grams: set[str], phrasing: str, grams: set[str]) -> float:
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
            (i, p, _bigrams(p)) for i, entry in enumerate(self.entries) for p in entry.phrasings if p
        ]

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]:
        """The best ``limit`` entries valid on ``today`` for the normalised ``query``."""
        if not query:
            return []
        q_grams = _bigrams(query)
        best: dict[int, float] = {}
        for i, phrasing, grams in self._rows:
            if q_grams.isdisjoint(grams) and len(q_grams) > 1:
                continue
            score = _similarity(query, q_grams, phrasing, grams)
            if score > best.get(i, 0.0):
                best[i] = score
        ranked = sorted(
            (Hit(self.entries[i], s) for i, s in best.items() if self.entries[i].valid_on(today)),
            key=lambda h: h.score,
            reverse=True,
        )
        return ranked[:limit]


def decide(hits: Sequence[Hit], thresholds: Thresholds = Thresholds()) -> KbDecision:
    """Answer when one entry clearly wins, offer choices when several compete, else nothing."""
    if not hits or hits[0].score < thresholds.clarify:
        return KbDecision(None, ())
    top = hits[0]
    runner_up = hits[1].score if len(hits) > 1 else 0.0
    if top.score >= thresholds.answer and top.score - runner_up >= thresholds.margin:
        return KbDecision("answer", (top,))
    if top.score >= thresholds.sure and top.score - runner_up >= thresholds.sure_margin:
        return KbDecision("answer", (top,))
    close = [h for h in hits if h.score >= thresholds.clarify and top.score - h.score < thresholds.close]
    if len(close) >= 2:
        return KbDecision("clarify", tuple(close[: thresholds.choices]))
    return KbDecision(None, ())  # one plausible entry that does not clearly win: a person decides


class SearchIndex(Protocol):
    entries: list[IndexedEntry]
    revision: int

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]: ...


class KnowledgeBase:
    """The live index of one worker process, rebuilt when the database's revision moves."""

    def __init__(
        self,
        normalise: Callable[[str], str],
        encoder: Encoder | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self._normalise = normalise
        self._encoder = encoder
        self._cache_dir = cache_dir
        self._index: SearchIndex = LexicalIndex([], revision=-1)
        self._lock = threading.Lock()

    @property
    def index(self) -> SearchIndex:
        return self._index

    def refresh(self, session: Session) -> SearchIndex:
        """Return the index for the database's current revision, rebuilding it if it moved."""
        revision = current_revision(session)
        if revision == self._index.revision:
            return self._index
        with self._lock:
            if revision != self._index.revision:
                self._index = self.build(session, revision)
        return self._index

    def build(self, session: Session, revision: int) -> SearchIndex:
        rows = session.scalars(select(KbEntry).where(KbEntry.status == "published")).all()
        entries = [self._indexed(r) for r in rows]
        if self._encoder is None:
            return LexicalIndex(entries, revision)
        from kb.hybrid import HybridIndex

        return HybridIndex(entries, revision, self._encoder, self._cache_dir)

    def _indexed(self, row: KbEntry) -> IndexedEntry:
        phrasings = [row.question, *(row.alt_questions or [])]
        return IndexedEntry(
            public_id=row.public_id,
            unit=row.unit_code,
            question=row.question,
            answer=full_answer(row.answer, row.service),
            spoken_answer=row.spoken_answer,
            keywords=tuple(row.keywords or ()),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            version=row.version,
            phrasings=tuple(dict.fromkeys(self._normalise(p) for p in phrasings)),
        )
