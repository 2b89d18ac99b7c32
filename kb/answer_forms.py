"""An answer in the shape each medium needs: the full text, SMS pages, and a version to read aloud.

SMS in Chinese is UCS-2: 70 characters in one segment, 67 per segment once split, and a character
outside the Basic Multilingual Plane (emoji, rare CJK) costs two. A reply uses at most two segments;
the rest waits for the citizen to reply "1". The spoken version is the entry's own ``spoken_answer``
when the unit wrote one, else derived: no links or brackets, times and phone numbers said the way a
person says them, cut at a sentence end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SINGLE = 70
PER_SEGMENT = 67
MORE = "…回复1查看更多"
SPOKEN_MAX = 150


def sms_units(text: str) -> int:
    """UCS-2 code units: two for a character outside the BMP."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


@dataclass(frozen=True)
class SmsPage:
    body: str
    rest: str  # what "回复1" shows next; empty when nothing is left

    @property
    def segments(self) -> int:
        units = sms_units(self.body)
        return 1 if units <= SINGLE else -(-units // PER_SEGMENT)


def _cut(text: str, budget: int) -> int:
    """The longest prefix of ``text`` within ``budget`` units, ending at a sentence end if one is near."""
    used, end = 0, 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            break
        end = i + 1
    for marks in ("。！？；\n", "，、："):
        best = max((text.rfind(m, 0, end) for m in marks), default=-1)
        if best >= end * 0.6:
            return best + 1
    return end


def sms_page(text: str, segments: int = 2) -> SmsPage:
    """The first page of ``text`` in at most ``segments`` segments, and what is left for the next one."""
    text = text.strip()
    limit = SINGLE if segments == 1 else PER_SEGMENT * segments
    if sms_units(text) <= limit:
        return SmsPage(text, "")
    end = _cut(text, limit - sms_units(MORE))
    return SmsPage(text[:end].rstrip() + MORE, text[end:].lstrip())


_URL = re.compile(r"(https?://|www\.)\S+")
_BRACKETS = re.compile(r"[（(][^（）()]{0,40}[）)]")
_TIME_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*[-—~至到]\s*(\d{1,2}):(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_PHONE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)|(?<!\d)(1[3-9]\d{9}|12345|12\d{3}|9\d{4})(?!\d)")
_SPACES = re.compile(r"\s+")


def _clock(hour: str, minute: str) -> str:
    return f"{int(hour)}点" + ("" if minute == "00" else ("半" if minute == "30" else f"{int(minute)}分"))


def _digits(number: str) -> str:
    """A phone number said digit by digit, as people read it out (一 as 幺 is left to the voice)."""
    return " ".join(number)


def spoken(answer: str, spoken_answer: str | None = None, limit: int = SPOKEN_MAX) -> str:
    """The text to read aloud on the phone."""
    if spoken_answer and spoken_answer.strip():
        return spoken_answer.strip()
    text = _URL.sub("", answer)
    text = _BRACKETS.sub("", text)
    text = _TIME_RANGE.sub(lambda m: f"{_clock(m[1], m[2])}到{_clock(m[3], m[4])}", text)
    text = _TIME.sub(lambda m: _clock(m[1], m[2]), text)
    text = _PHONE.sub(
        lambda m: f"{_digits(m[1])}，{_digits(m[2])}" if m[1] else _digits(m[3]),
        text,
    )
    text = text.replace("|", "，").replace("“", "").replace("”", "")
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    end = max(text.rfind(m, 0, limit) for m in "。！？；")
    return text[: end + 1] if end > limit // 3 else text[:limit].rstrip("，、") + "。"
