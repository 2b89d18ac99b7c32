"""The semantic half of emergency detection: nearness to sentences that describe real dangers.

Patterns alone miss how frightened people talk ("隔壁家阳台红通通的一片"); similarity alone confuses
"家里没水了" with an emergency (shared/MEASURED.md). So a message counts as an emergency by meaning
when it is close to an emergency exemplar *and* clearly closer to it than to any routine exemplar
(everyday questions that share the vocabulary). The line is a vote of the nearest exemplars, each
weighted by its similarity, so one stray neighbour does not pick the line on its own.
``routing.rules.detect_emergency`` combines this with the pack's patterns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from kb.encoders import Encoder

EXEMPLARS = Path(__file__).with_name("exemplars") / "emergencies.yaml"


@dataclass(frozen=True)
class SemanticMatch:
    line: str
    score: float  # cosine to the nearest exemplar of the line the neighbours voted for
    routine: float  # cosine to the nearest routine exemplar
    exemplar: str


@functools.cache
def shared_detector(encoder: Encoder) -> SemanticEmergency:
    """One detector per encoder and process: the exemplars are encoded once."""
    return SemanticEmergency(encoder)


class SemanticEmergency:
    """Nearest-exemplar emergency detector over one encoder."""

    def __init__(
        self,
        encoder: Encoder,
        path: Path = EXEMPLARS,
        threshold: float = 0.55,
        margin: float = 0.05,
        neighbours: int = 3,
        vote_threshold: float = 0.5,
    ) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.threshold = threshold
        self.margin = margin
        self.neighbours = neighbours
        self.vote_threshold = vote_threshold
        self._encoder = encoder
        self._lines: list[str] = []
        self._texts: list[str] = []
        for line, sentences in data["lines"].items():
            for sentence in sentences:
                self._lines.append(str(line))
                self._texts.append(sentence)
        self._vectors = encoder.encode(self._texts)
        self._routine = encoder.encode(list(data["routine"]))

    def nearest(self, text: str) -> SemanticMatch:
        vector = self._encoder.encode([text])[0]
        scores = self._vectors @ vector
        votes: dict[str, float] = {}
        for i in np.argsort(-scores)[: self.neighbours]:
            votes[self._lines[i]] = votes.get(self._lines[i], 0.0) + float(scores[i])
        line = max(votes, key=lambda name: votes[name])
        best = max((i for i, name in enumerate(self._lines) if name == line), key=lambda i: scores[i])
        routine = float(np.max(self._routine @ vector)) if len(self._routine) else 0.0
        return SemanticMatch(line, float(scores[best]), routine, self._texts[best])

    def judge(self, match: SemanticMatch) -> SemanticMatch | None:
        """``match`` when it is close enough to an emergency and clearly not a routine question."""
        if match.score >= self.threshold and match.score - match.routine >= self.margin:
            return match
        return None

    def vote(self, match: SemanticMatch) -> str | None:
        """The line the exemplars lean to, to choose between lines whose patterns all match.

        Weaker evidence than ``judge`` asks for: it never raises the alarm on its own.
        """
        if match.score >= self.vote_threshold and match.score - match.routine >= self.margin:
            return match.line
        return None

    def reads_routine(self, match: SemanticMatch) -> bool:
        """Whether the message is clearly an everyday question rather than a danger."""
        return match.routine >= self.threshold and match.routine - match.score >= self.margin
