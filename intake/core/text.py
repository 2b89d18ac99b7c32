"""Normalising what citizens type: one copy for matching, the original kept for display and records.

NFKC turns full-width letters, digits and most punctuation into half-width; OpenCC maps traditional
characters to simplified so that 「戶口」 and 「户口」 match the same entries.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")
# Characters that carry no meaning for matching: controls, zero-width marks, private use.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2028-\u202f\ufeff\ue000-\uf8ff]"
)


@functools.cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified."""
    return _t2s().convert(text)


@dataclass(frozen=True)
class NormalizedText:
    original: str
    display: str  # trimmed, capped, invisible characters removed
    match: str  # plus NFKC, simplified, lower-case: the form every rule and search sees
    truncated: bool


def normalize(text: str, max_len: int = 2000) -> NormalizedText:
    """Return the display and matching forms of ``text``, capped at ``max_len`` characters."""
    cleaned = _INVISIBLE.sub("", text or "")
    cleaned = _SPACES.sub(" ", cleaned).strip()
    truncated = len(cleaned) > max_len
    display = cleaned[:max_len]
    match = unicodedata.normalize("NFKC", display)
    match = to_simplified(match).lower()
    match = _SPACES.sub(" ", match).strip()
    return NormalizedText(original=text, display=display, match=match, truncated=truncated)
