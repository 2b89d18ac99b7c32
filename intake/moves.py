"""Conversation moves (对话用语): greetings, thanks, closers, acknowledgements, asking for a person,
asking to hear it again, saying the offered answer was not it. None of them is a matter (诉求): the
pipeline answers them as an operator would and makes no ticket and no knowledge gap of them.

``recognise`` says whether a message is *only* a move, and which kind. The phrases are data
(``moves.yaml`` next to this file): regular expressions over the matching form of the text once
spaces, punctuation and emoji are gone. A message is a move when the phrases and the fillers cover all
of it, and nothing else is left: "谢谢，没有了" is a closer, "你好，我家门口路灯坏了" is a matter. When
several kinds are said, the pack's order (``precedence``) decides.

``is_garbage`` says whether a message is keyboard mash: letters that make no word, interjections,
punctuation, and no Chinese content word and no number. Such a message is asked to be said again; it is
never held as a matter.

Plain Python: no database, no Flask. ``intake.conversations`` decides, once per message, what a move
gets; the channels render it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from intake.core.vocabulary import MOVES

PHRASES = Path(__file__).with_name("moves.yaml")
MAX_MOVE = 40  # characters left after stripping: anything longer says more than a move
FILLER = "filler"
HESITATION = "hesitation"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"\d+")
# interjections and sounds: Chinese characters that are not content words
_SOUNDS = set("啊阿呃额哎唉嗯恩哦噢喔呀哈嘿呵嗷嘻呜哇吖咦哼嗨哗滋嗞咔嚓嘟嘀嗒沙")
# keyboard rows: three keys in a row along one of them is mashing, not a word
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = set("aeiouy")
# short Latin words citizens use; anything else is judged by its shape
_KNOWN_LATIN = {
    "ok", "okay", "hi", "hello", "sos", "help", "app", "wifi", "atm", "ktv", "etc", "id", "ic", "vip",
    "pm", "am", "cbd", "pos", "sim", "qq", "wx", "tv", "led", "suv", "ai",
}  # fmt: skip


@dataclass(frozen=True)
class Move:
    """A message that is only a conversation move: its ``kind`` and the kinds it mixed (in order)."""

    kind: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class _Lexicon:
    precedence: tuple[str, ...]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # one alternation per label: kinds, fillers…
    companions: frozenset[str]  # "companion:<kind>" labels
    replies: dict[str, Any]


def _alternation(phrases: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in phrases))


@functools.cache
def lexicon(path: Path = PHRASES) -> _Lexicon:
    """The phrase lists, read once."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    precedence = tuple(data["precedence"])
    unknown = set(precedence) ^ set(MOVES)
    if unknown:
        raise ValueError(f"{path.name}: precedence must name every move kind once: {sorted(unknown)}")
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for kind, phrases in data["phrases"].items():
        if kind not in MOVES:
            raise ValueError(f"{path.name}: unknown move kind {kind!r}")
        patterns.append((kind, _alternation(phrases)))
    companions = set()
    for kind, phrases in (data.get("companions") or {}).items():
        companions.add(f"companion:{kind}")
        patterns.append((f"companion:{kind}", _alternation(phrases)))
    patterns.append((FILLER, _alternation(data["fillers"])))
    patterns.append((HESITATION, _alternation(data["hesitations"])))
    return _Lexicon(precedence, tuple(patterns), frozenset(companions), data["replies"])


def replies() -> dict[str, Any]:
    """The replies of ``moves.yaml``: what the pipeline says to each move."""
    return lexicon().replies


def strip(text: str) -> str:
    """Only the letters and digits of ``text``: no spaces, punctuation, symbols or emoji."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _cover(text: str, lex: _Lexicon) -> list[str] | None:
    """The labels of a full covering of ``text`` by phrases: fewest pieces, then most move pieces.

    Every span is tried whole against every label (``fullmatch``), so "我要跟人说话" is one piece
    whatever order a pattern's alternatives are written in.
    """
    n = len(text)
    # best[i]: (pieces, -move pieces, labels) of the best covering of text[:i]
    best: list[tuple[int, int, list[str]] | None] = [None] * (n + 1)
    best[0] = (0, 0, [])
    for start in range(n):
        here = best[start]
        if here is None:
            continue
        for end in range(start + 1, n + 1):
            for label, pattern in lex.patterns:
                if pattern.fullmatch(text, start, end) is None:
                    continue
                candidate = (here[0] + 1, here[1] - (label in MOVES), [*here[2], label])
                if best[end] is None or candidate[:2] < best[end][:2]:
                    best[end] = candidate
    return best[n][2] if best[n] is not None else None


def recognise(text: str) -> Move | None:
    """The move ``text`` is, or ``None`` when it holds anything else (a matter, a number, nothing).

    ``text`` is the matching form (``intake.core.text.normalize(...).match``); only its letters and
    digits are read.
    """
    core = strip(text)
    if not core or len(core) > MAX_MOVE:
        return None
    lex = lexicon()
    labels = _cover(core, lex)
    if labels is None:
        return None
    kinds = tuple(dict.fromkeys(label for label in labels if label in MOVES))
    if not kinds:
        return None  # fillers alone ("啊", "那个") say nothing
    if HESITATION in labels and set(kinds) == {"ack"}:
        return None  # "嗯 呃 那个": still looking for words
    for label in set(labels) & lex.companions:
        if label.split(":", 1)[1] not in kinds:
            return None  # "你好 那个地址是哪里" asks a question
    kind = next(k for k in lex.precedence if k in kinds)
    return Move(kind=kind, kinds=kinds)


def _latin_means_something(word: str) -> bool:
    """Whether a run of Latin letters looks like a word (English, pinyin, an abbreviation), not mash."""
    if word in _KNOWN_LATIN:
        return True
    if len(word) < 2 or len(set(word)) == 1:
        return False
    if any(row[i : i + 3] in word for row in _ROWS for i in range(len(row) - 2)):
        return False
    if not any(ch in _VOWELS for ch in word):
        return False
    run = longest = 0
    for ch in word:
        run = 0 if ch in _VOWELS else run + 1
        longest = max(longest, run)
    if longest >= 4:
        return False
    # the same two or three letters over and over ("sdfsdf", "jkjkjk")
    return not any(len(word) >= 2 * k and word == word[:k] * (len(word) // k) for k in (2, 3))


def is_garbage(text: str) -> bool:
    """Whether ``text`` is keyboard mash: something typed, but no Chinese content word, no number of
    three digits or more, and no Latin word. Empty text, and digits alone (a choice, a rating, a
    ticket number), are not garbage: the pipeline has its own rules for them."""
    core = strip(text)
    if not core or core.isdigit():
        return False
    if any(_CJK.match(ch) and ch not in _SOUNDS for ch in core):
        return False
    if any(len(d) >= 3 for d in _DIGITS.findall(core)):
        return False
    words = _LATIN_WORD.findall(core)
    return not any(_latin_means_something(w) for w in words)
