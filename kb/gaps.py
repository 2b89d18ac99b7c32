"""Knowledge gaps: consultations the knowledge base could not answer, grouped so editors see what to
write next, most-asked first.

Grouping is greedy over sentence vectors: each question joins the first group whose first question it
is close to (cosine ≥ ``SAME_QUESTION``), else starts a group. A few hundred questions a week group in
well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.encoders import Encoder
from kb.models import KbGap, current_revision

SAME_QUESTION = 0.8


@dataclass
class GapGroup:
    question: str  # the first one asked, as the group's name
    count: int = 0
    examples: list[str] = field(default_factory=list)
    last_asked: datetime | None = None


def record_gap(session: Session, text: str, channel: str, now: datetime) -> None:
    """Log a consultation no entry answered; the caller commits."""
    session.add(KbGap(text=text[:2000], channel=channel, asked_at=now, revision=current_revision(session)))


def grouped_gaps(
    session: Session, encoder: Encoder, since: datetime, limit: int = 20, examples: int = 3
) -> list[GapGroup]:
    """Unanswered questions since ``since``, grouped by meaning, most-asked first."""
    rows = session.execute(
        select(KbGap.text, KbGap.asked_at).where(KbGap.asked_at >= since).order_by(KbGap.id)
    ).all()
    if not rows:
        return []
    vectors = encoder.encode([r.text for r in rows])
    groups: list[GapGroup] = []
    heads: list[np.ndarray] = []
    for row, vector in zip(rows, vectors, strict=True):
        scores = [float(head @ vector) for head in heads]
        best = int(np.argmax(scores)) if scores else -1
        if best < 0 or scores[best] < SAME_QUESTION:
            groups.append(GapGroup(question=row.text))
            heads.append(vector)
            best = len(groups) - 1
        group = groups[best]
        group.count += 1
        group.last_asked = row.asked_at
        if len(group.examples) < examples and row.text not in group.examples:
            group.examples.append(row.text)
    groups.sort(key=lambda g: (-g.count, g.question))
    return groups[:limit]
