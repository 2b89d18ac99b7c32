"""The knowledge API's knowledge questions (知识提问, ``/api/v1/kb/questions``): asking, listing, the
overdue ones, and the owning unit's answer; routes on ``channels.machine.kb.bp``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from channels.machine.kb import (
    MAX_AUDIT,
    MAX_ID,
    ApiError,
    _arg_int,
    _body,
    _own_unit_only,
    _text_field,
    _tz,
    actor,
    bp,
)
from channels.security import hotline
from intake.core import permissions
from kb import questions

# ---------------------------------------------------------------- knowledge questions (知识提问)


def _question(q: questions.KbQuestion) -> dict[str, Any]:
    return q.to_dict(_tz(), hotline().clock())


def _may_see_question(q: questions.KbQuestion) -> None:
    who = actor()
    if not permissions.may_see_unit(who, q.unit_code):
        raise ApiError(403, f"知识提问 {q.id} 不是向本单位提出的。")


@bp.get("/questions")
def list_questions():
    """Knowledge questions newest first, by ``unit`` and ``status`` (open | answered)."""
    status = (request.args.get("status") or "").strip() or None
    limit = _arg_int("limit", 100, 1, MAX_AUDIT)
    with hotline().db.session() as db:
        unit = _own_unit_only(db)
        found = questions.list_questions(db, unit=unit, status=status, limit=limit)
        return jsonify({"unit": unit, "questions": [_question(q) for q in found]})


@bp.get("/questions/overdue")
def overdue_questions():
    """Open questions past their due, longest overdue first."""
    line = hotline()
    with line.db.session() as db:
        unit = _own_unit_only(db)
        found = questions.overdue(db, line.clock(), unit=unit)
        return jsonify({"unit": unit, "questions": [_question(q) for q in found]})


@bp.post("/questions")
def ask_question():
    """Flag an entry (``entry``) or a missing topic (``unit`` and ``topic``) with a ``kind`` and a
    ``comment``; the unit must answer within the pack's limit."""
    data = _body()
    fields = {}
    for name in ("kind", "comment", "entry", "unit", "topic"):
        fields[name] = _text_field(data, name, limit=questions.MAX_TEXT)
    strange = sorted(set(data) - set(fields))
    if strange:
        raise ApiError(
            400, f"未知字段：{', '.join(strange)[:200]}", [f"unknown field {', '.join(strange)[:200]}"]
        )
    line = hotline()
    with line.db.session() as db:
        asked = questions.ask(
            db,
            actor(),
            line.lifecycle.deadlines,
            line.clock(),
            kind=fields["kind"] or "",
            comment=fields["comment"] or "",
            entry=fields["entry"],
            unit=fields["unit"],
            topic=fields["topic"],
        )
        db.commit()
        response = jsonify(_question(asked))
    response.status_code = 201
    response.headers["Location"] = url_for("kb_api.get_question", question_id=asked.id)
    return response


@bp.get("/questions/<int:question_id>")
def get_question(question_id: int):
    with hotline().db.session() as db:
        found = questions.get(db, question_id)
        _may_see_question(found)
        return jsonify(_question(found))


@bp.post("/questions/<int:question_id>/answer")
def answer_question(question_id: int):
    """The owning unit's answer: ``text`` says what was changed, ``entry`` optionally names the entry."""
    data = _body()
    text = _text_field(data, "text", limit=questions.MAX_TEXT) or ""
    entry = _text_field(data, "entry", limit=MAX_ID)
    line = hotline()
    with line.db.session() as db:
        answered = questions.answer(db, actor(), question_id, line.clock(), text=text, entry=entry)
        db.commit()
        return jsonify(_question(answered))
