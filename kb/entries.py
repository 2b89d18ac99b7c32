"""What an index holds and returns: one published entry as it is searched (``IndexedEntry``), a scored
match (``Hit``), and what every index offers (``SearchIndex``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


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


class SearchIndex(Protocol):
    entries: list[IndexedEntry]
    revision: int

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]: ...
