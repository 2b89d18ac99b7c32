"""Preview before publishing: how test questions are answered now and with a draft, and near-duplicates.

``preview`` takes the live index (what ``KnowledgeBase.refresh(session)`` returns), a ``Draft`` and the
editor's test questions, and decides each question twice with ``kb.search.decide``: on the live hits,
and on the live hits with the draft in place of the live version of its entry (or added, for a new
entry). The draft is scored by the hybrid index's own ``score`` (the confidence its search gives a
published entry); with a lexical index, by the edit-distance similarity alone.

``near_duplicates`` lists live entries whose phrasing is nearly the same as one of the draft's, so an
editor sees on saving that the question is answered already. ``NEAR_DUPLICATE`` was calibrated on the
demo knowledge base (``kb/demo/entries.jsonl``, 108 entries, 540 phrasings; score = max(cosine, edit
similarity), USE multilingual v3):

- two different entries' closest phrasings: median 0.41, 99th percentile 0.72, highest 0.911 (the
  water and the electricity ``户名过户`` entries, written from one template); 1 of 5,778 pairs ≥ 0.90;
- paraphrases within one entry: median 0.59, 90th percentile 0.77; 0.5 % ≥ 0.90, so the encoder cannot
  tell "the same question reworded" from "a sibling topic", and paraphrases are not flagged;
- an entry's question lightly edited, against its own entry: a copy 1.0; "请问" prefixed or "呢"
  appended ≥ 0.93; one character deleted ≥ 0.90; one character replaced ≥ 0.90 in 98 % of entries.

0.90 catches copies and light edits and flags one sibling pair of the demo's 5,778; a warning costs the
editor a glance, a missed copy costs two entries competing for the same callers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from intake.core.text import normalize
from kb.entries import Hit, IndexedEntry, SearchIndex
from kb.lexical import bigrams, similarity
from kb.search import KbDecision, Thresholds, decide

NEAR_DUPLICATE = 0.90
MAX_TEST_QUESTIONS = 20
MAX_QUESTION_CHARS = 500
DRAFT_ID = "(草稿)"  # shown for a new entry that has no public id yet


class PreviewInvalid(ValueError):
    """Test questions that cannot be previewed: ``status`` (400) and a Chinese ``message``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.status = 400
        self.message = message


def _match(text: str) -> str:
    return normalize(text).match


@dataclass(frozen=True)
class Draft:
    """An entry as the editor is writing it; ``public_id`` is None for a new entry."""

    public_id: str | None
    unit: str
    question: str
    alt_questions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    answer: str = ""
    spoken_answer: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    version: int = 0

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Draft:
        """A draft from the import/export field names (``id``, ``unit``, ``question``, ...)."""

        def day(value: Any) -> date | None:
            if value in (None, ""):
                return None
            return value if isinstance(value, date) else date.fromisoformat(str(value))

        return cls(
            public_id=record.get("id") or None,
            unit=str(record.get("unit") or ""),
            question=str(record.get("question") or ""),
            alt_questions=tuple(str(q) for q in record.get("alt_questions") or ()),
            keywords=tuple(str(k) for k in record.get("keywords") or ()),
            answer=str(record.get("answer") or ""),
            spoken_answer=record.get("spoken_answer"),
            valid_from=day(record.get("valid_from")),
            valid_until=day(record.get("valid_until")),
        )

    def indexed(self, normalise: Callable[[str], str] = _match) -> IndexedEntry:
        """The draft as the index would hold it once published."""
        phrasings = (normalise(p) for p in (self.question, *self.alt_questions) if p and p.strip())
        return IndexedEntry(
            public_id=self.public_id or DRAFT_ID,
            unit=self.unit,
            question=self.question,
            answer=self.answer,
            spoken_answer=self.spoken_answer,
            keywords=tuple(self.keywords),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            version=self.version,
            phrasings=tuple(p for p in dict.fromkeys(phrasings) if p),
        )


@dataclass(frozen=True)
class PreviewHit:
    public_id: str
    question: str
    unit: str
    score: float
    draft: bool  # this hit is the draft

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "question": self.question,
            "unit": self.unit,
            "score": round(self.score, 4),
            "draft": self.draft,
        }


@dataclass(frozen=True)
class Seen:
    """How one question is decided: ``kind`` answer | clarify | None, the decision's hits, the best hit."""

    kind: str | None
    hits: tuple[PreviewHit, ...]  # the answer (one) or the choices offered (two or three)
    best: PreviewHit | None  # the closest entry, even when it does not answer

    def describe(self) -> str:
        """The decision in Chinese, for the editor's page."""
        if self.kind == "answer":
            hit = self.hits[0]
            return f"直接回答：{hit.question}（{hit.score:.2f}）"
        if self.kind == "clarify":
            return "请市民在以下条目中选择：" + "；".join(h.question for h in self.hits)
        if self.best is None:
            return "不能回答（没有相近的条目）"
        return f"不能回答（最接近：{self.best.question}，{self.best.score:.2f}）"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.describe(),
            "hits": [h.to_dict() for h in self.hits],
            "best": self.best.to_dict() if self.best else None,
        }


@dataclass(frozen=True)
class PreviewRow:
    """One test question, decided on the live index (``now``) and with the draft (``with_draft``)."""

    question: str
    now: Seen
    with_draft: Seen

    @property
    def changed(self) -> bool:
        def key(seen: Seen) -> tuple[Any, ...]:
            return seen.kind, tuple(h.public_id for h in seen.hits)

        return key(self.now) != key(self.with_draft)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "now": self.now.to_dict(),
            "with_draft": self.with_draft.to_dict(),
            "changed": self.changed,
        }


@dataclass(frozen=True)
class NearDuplicate:
    """A live entry whose phrasing ``matched`` is nearly the draft's phrasing ``phrasing``."""

    public_id: str
    question: str
    unit: str
    score: float
    phrasing: str  # the draft's phrasing (normalised)
    matched: str  # the live entry's phrasing it is close to (normalised)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "question": self.question,
            "unit": self.unit,
            "score": round(self.score, 4),
            "phrasing": self.phrasing,
            "matched": self.matched,
        }


@dataclass
class _Scorer:
    """Scores texts against queries as the live index does: max(cosine, edit similarity)."""

    index: SearchIndex
    encoder: Any = field(init=False)

    def __post_init__(self) -> None:
        self.encoder = getattr(self.index, "encoder", None)

    def vectors(self, texts: Sequence[str]) -> np.ndarray | None:
        if self.encoder is None or not texts:
            return None
        return self.encoder.encode(list(texts))

    @staticmethod
    def lexical(query: str, q_grams: set[str], phrasing: str) -> float:
        grams = bigrams(phrasing)
        # the lexical index skips phrasings that share no bigram with a longer query
        if q_grams.isdisjoint(grams) and len(q_grams) > 1:
            return 0.0
        return similarity(query, q_grams, phrasing, grams)


def _doc(entry: IndexedEntry) -> str:
    """The question-plus-keywords text the hybrid index also encodes for each entry."""
    return " ".join([entry.phrasings[0], *entry.keywords]) if entry.phrasings else ""


def _seen(decision: KbDecision, hits: Sequence[Hit], draft_id: str | None) -> Seen:
    def shown(hit: Hit) -> PreviewHit:
        entry = hit.entry
        is_draft = entry.public_id == draft_id
        return PreviewHit(entry.public_id, entry.question, entry.unit, hit.score, is_draft)

    return Seen(decision.kind, tuple(shown(h) for h in decision.hits), shown(hits[0]) if hits else None)


def preview(
    index: SearchIndex,
    draft: Draft,
    questions: Sequence[str],
    *,
    today: date,
    thresholds: Thresholds | None = None,
    normalise: Callable[[str], str] = _match,
    limit: int = 5,
) -> list[PreviewRow]:
    """Decide each test question on the live ``index`` and with ``draft`` published, as of ``today``.

    The draft replaces the live entry with its public id (or is added when it has none); a draft not
    valid on ``today`` answers nothing then, exactly as the published entry would not. Blank questions
    are skipped; more than ``MAX_TEST_QUESTIONS`` or a question over ``MAX_QUESTION_CHARS`` characters
    raise ``PreviewInvalid``. Pass the hotline's ``triage.thresholds`` and its normaliser to see what
    callers will see."""
    asked = [q.strip() for q in questions if q and q.strip()]
    if len(asked) > MAX_TEST_QUESTIONS:
        raise PreviewInvalid(f"一次最多试问{MAX_TEST_QUESTIONS}个问题")
    if any(len(q) > MAX_QUESTION_CHARS for q in asked):
        raise PreviewInvalid(f"每个试问的问题不能超过{MAX_QUESTION_CHARS}个字")
    thresholds = thresholds or Thresholds()
    entry = draft.indexed(normalise)
    draft_id = entry.public_id
    scorer = _Scorer(index)
    queries = [normalise(q) for q in asked]
    texts = [t for t in dict.fromkeys([*entry.phrasings, _doc(entry)]) if t]
    entry_vectors = None if hasattr(index, "score") else scorer.vectors(texts)
    query_vectors = scorer.vectors([q for q in queries if q])
    rows: list[PreviewRow] = []
    k = 0
    for text, query in zip(asked, queries, strict=True):
        live = index.search(query, today, limit=limit + 1) if query else []
        now_hits = live[:limit]
        others = [h for h in live if h.entry.public_id != draft_id]
        if query and entry.phrasings and entry.valid_on(today):
            score_with = getattr(index, "score", None)
            if score_with is not None:
                # the hybrid index rates the draft exactly as it will once published (its own scale)
                vector = query_vectors[k] if query_vectors is not None else None
                score = score_with(query, entry, vector)
            else:
                q_grams = bigrams(query)
                score = max(scorer.lexical(query, q_grams, p) for p in entry.phrasings)
                if entry_vectors is not None and query_vectors is not None:
                    score = max(score, float(np.max(entry_vectors @ query_vectors[k])))
            others.append(Hit(entry, score))
        if query:
            k += 1
        with_hits = sorted(others, key=lambda h: h.score, reverse=True)[:limit]
        rows.append(
            PreviewRow(
                question=text,
                now=_seen(decide(now_hits, thresholds), now_hits, draft_id),
                with_draft=_seen(decide(with_hits, thresholds), with_hits, draft_id),
            )
        )
    return rows


def near_duplicates(
    index: SearchIndex,
    draft: Draft,
    *,
    today: date,
    limit: int = 5,
    threshold: float = NEAR_DUPLICATE,
    normalise: Callable[[str], str] = _match,
) -> list[NearDuplicate]:
    """Live entries, other than the draft's own, with a phrasing within ``threshold`` of one of the
    draft's, closest first, with the two phrasings that matched.

    Every live entry is compared by edit similarity. By meaning, the entries valid on ``today`` that the
    live index ranks first for each of the draft's phrasings are compared phrasing by phrasing by
    cosine; an entry outside its validity window (a past or future notice) is compared by characters
    only."""
    entry = draft.indexed(normalise)
    own = draft.public_id
    phrasings = list(entry.phrasings)
    if not phrasings:
        return []
    scorer = _Scorer(index)
    grams = [bigrams(p) for p in phrasings]
    best: dict[str, tuple[float, str, str, IndexedEntry]] = {}

    def consider(live: IndexedEntry, score: float, mine: str, theirs: str) -> None:
        if score >= threshold and score > best.get(live.public_id, (-1.0,))[0]:
            best[live.public_id] = (score, mine, theirs, live)

    for live in index.entries:
        if live.public_id == own:
            continue
        for theirs in live.phrasings:
            theirs_grams = bigrams(theirs)
            for mine, mine_grams in zip(phrasings, grams, strict=True):
                if not mine_grams.isdisjoint(theirs_grams):
                    consider(live, similarity(mine, mine_grams, theirs, theirs_grams), mine, theirs)
    if scorer.encoder is not None:
        candidates: dict[str, IndexedEntry] = {}
        for mine in phrasings:
            for hit in index.search(mine, today, limit=limit + 5):
                # not filtered by hit.score: the search confidence adds word coverage, so a phrasing
                # with a cosine over the threshold can score below it
                if hit.entry.public_id != own:
                    candidates[hit.entry.public_id] = hit.entry
        if candidates:
            theirs_all = [(e, p) for e in candidates.values() for p in e.phrasings]
            mine_v = scorer.vectors(phrasings)
            theirs_v = scorer.vectors([p for _, p in theirs_all])
            assert mine_v is not None and theirs_v is not None
            cosine = mine_v @ theirs_v.T
            for j, (live, theirs) in enumerate(theirs_all):
                i = int(np.argmax(cosine[:, j]))
                consider(live, float(cosine[i, j]), phrasings[i], theirs)
    ranked = sorted(best.values(), key=lambda b: b[0], reverse=True)[:limit]
    return [NearDuplicate(e.public_id, e.question, e.unit, s, mine, theirs) for s, mine, theirs, e in ranked]
