"""The two types every channel speaks: the ``Message`` coming in and the ``Outcome`` going out.

``Outcome.to_dict()`` is the contract of ``hotline triage`` and of the JSON API: every key is always
present, ``None`` where it does not apply.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from intake.core.vocabulary import CATEGORIES, MOVES

CHANNELS = ("web", "sms", "voice", "wechat", "api")
ACTIONS = (
    "answer", "clarify", "transfer", "redirect", "decline", "ticket", "ask", "status", "survey", "move",
)  # fmt: skip


@dataclass(frozen=True)
class Message:
    """One thing a citizen said, on one channel, as the channel adapter understood it."""

    channel: str
    sender: str
    text: str
    channel_msg_id: str | None = None
    received_at: datetime | None = None
    # text | voice | event | location | unknown: channels map what they cannot read to "unknown"
    kind: str = "text"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A knowledge entry offered as one of the choices of a ``clarify`` outcome."""

    kb_id: str
    question: str
    score: float


@dataclass(frozen=True)
class TicketInfo:
    """What the citizen is told about a ticket that was created for them."""

    number: str
    category: str | None
    unit: str | None
    due: str | None


@dataclass
class Outcome:
    """The decision on a message and the Chinese reply the citizen gets."""

    action: str
    reply: str
    kb_id: str | None = None
    score: float | None = None
    candidates: list[Candidate] | None = None
    transfer_to: str | None = None
    transfer_all: list[str] | None = None
    redirect_to: str | None = None
    decline_reason: str | None = None
    category: str | None = None
    urgent: bool = False
    unit: str | None = None
    due: str | None = None
    basis: str | None = None
    ticket: TicketInfo | None = None
    # for action "move": which conversation move it answered (intake.core.vocabulary.MOVES)
    move: str | None = None
    # not part of the public contract: what channels need to render the reply well
    unit_name: str | None = None
    spoken_reply: str | None = None
    kb_version: int | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        if (self.move is None) != (self.action != "move") or (self.move and self.move not in MOVES):
            raise ValueError(f"action {self.action!r} with move {self.move!r}")

    def to_dict(self) -> dict[str, Any]:
        """The outcome as the JSON contract: all keys present, ``None`` where not applicable."""
        data = asdict(self)
        for private in ("unit_name", "spoken_reply", "kb_version"):
            data.pop(private)
        if self.score is not None:
            data["score"] = round(float(self.score), 4)
        return data
