"""Searching the knowledge base and deciding whether to answer, offer choices, or not answer at all.

``KnowledgeBase`` builds the index of the published entries: ``kb.hybrid.HybridIndex`` (sentence
vectors and BM25) with an encoder, ``kb.lexical.LexicalIndex`` without; an entry scores its best
phrasing. ``decide`` turns the hits into answer, choices or nothing. Only entries that are published
and inside their validity window on the day of the question can answer.

The index is derived state: each worker builds it from the database and rebuilds it when the
knowledge base's revision stamp moves, so every worker serves an edit within one request of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.entries import Hit, IndexedEntry, SearchIndex
from kb.hybrid import HybridIndex
from kb.lexical import LexicalIndex
from kb.models import KbEntry, current_revision, full_answer

if TYPE_CHECKING:
    from kb.encoders import Encoder


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
