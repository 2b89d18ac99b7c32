"""Input checked once, at the edge (issue 17): what every channel and API lets in before anything is
stored or parsed further.

Python's ``json`` accepts ``"\\ud800"`` (a lone surrogate, which no database encoding can store), NUL
(which PostgreSQL refuses in text), nesting deep enough to exhaust the recursion limit, and integers of
any size (SQLite stores at most 64 bits). Each of these reached the database or the parser before and
answered 500, sometimes after a row was half written. Here they become a ``BadInput`` with a sentence
for the caller, and the adapter answers 400 (or its medium's polite reply) before anything happens.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # no request of ours nests deeper than a few levels
MAX_INT = 2**53  # beyond this a JSON number is not an integer every client reads the same
# lone surrogates, NUL and the C0/C1 controls other than tab, newline and carriage return
_FORBIDDEN = re.compile(r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class BadInput(ValueError):
    """Input refused at the edge; ``str(exc)`` is the Chinese sentence the caller gets."""


class NotJson(BadInput):
    """The body is not JSON at all: each endpoint says in its own words what it expected."""


def check_text(value: str, field: str = "内容") -> str:
    """``value`` unchanged if it holds only characters that can be stored and shown, else ``BadInput``."""
    found = _FORBIDDEN.search(value)
    if found:
        raise BadInput(f"{field}含有无法处理的字符（U+{ord(found.group()):04X}），请删除后重新提交")
    return value


def check_value(value: Any, field: str = "请求", depth: int = 0) -> None:
    """Every string (keys too) and integer inside a parsed JSON value, and its nesting."""
    if depth > MAX_DEPTH:
        raise BadInput(f"请求嵌套过深（超过 {MAX_DEPTH} 层）")
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if abs(value) > MAX_INT:
            raise BadInput(f"{field}中的数字超出范围")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, "字段名")
            check_value(item, key, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_value(item, field, depth + 1)


def nesting(raw: str) -> int:
    """How deep ``[`` and ``{`` nest in JSON text, strings skipped: measured before it is parsed."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json(raw: bytes) -> Any:
    """Parse a request body as JSON, refusing what ``check_value`` refuses and invalid UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("请求不是有效的 UTF-8 文本") from None
    if nesting(text) > MAX_DEPTH:
        raise BadInput(f"请求嵌套过深（超过 {MAX_DEPTH} 层）")
    try:
        value = json.loads(text)
    except ValueError:
        raise NotJson("请求不是有效的 JSON") from None
    check_value(value)
    return value


# ---------------------------------------------------------------- spreadsheets

# A cell a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return before one):
# CSV exports prefix it with an apostrophe, which Excel and LibreOffice show as text and do not keep.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(cell: object) -> object:
    """``cell`` as a CSV export writes it: text that would start a formula gets a leading apostrophe."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def formula_unescaped(cell: str) -> str:
    """The text ``formula_safe`` protected, as it was: an import reads back what an export wrote."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell
