"""Knowledge questions (知识提问): the office flags an entry, its unit answers within the pack's limit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from channels.worker import Worker
from intake.core.staff import StaffUser
from intake.demo import DEMO_ACTOR
from kb import questions
from kb.audit import KbAudit
from kb.questions import QuestionRefused
from routing import policy as policies
from routing.deadlines import Deadlines
from routing.workdays import WorkdayCalendar
from tests.conftest import NOW, TZ


def user(role: str, unit: str | None = None, name: str | None = None) -> StaffUser:
    return StaffUser(username=name or f"{role}-{unit or 'hotline'}", role=role, unit_code=unit)


OFFICE = user("office")
RSJ_EDITOR = user("unit_editor", "rsj")


def deadlines_of(pack: str) -> Deadlines:
    policy = policies.load(pack)
    return Deadlines(policy, WorkdayCalendar(policy.holidays), TZ)


@pytest.fixture
def deadlines(demo) -> Deadlines:
    return demo.lifecycle.deadlines


@pytest.fixture
def session(demo):
    with demo.db.session() as session:
        yield session


def ask(session, deadlines, actor=OFFICE, now=NOW, **fields):
    fields = {"kind": "outdated", "comment": "补卡地点已搬到新政务中心", "entry": "LS-RSJ-0003"} | fields
    return questions.ask(session, actor, deadlines, now, **fields)


# ---------------------------------------------------------------- the pack's limit


@pytest.mark.parametrize(
    ("pack", "asked", "due", "basis"),
    [
        # 003 第十五条(二): 3 working days, counted from the next working day (003 第十二条(二))
        ("longsheng", NOW, "2026-11-26", "003 第十五条(二)"),
        # asked on a Friday afternoon: Saturday and Sunday are not counted
        ("longsheng", datetime(2026, 11, 27, 16, 30, tzinfo=TZ), "2026-12-02", "003 第十五条(二)"),
        # asked on a Sunday: the limit starts on Monday
        ("longsheng", datetime(2026, 11, 29, 11, 0, tzinfo=TZ), "2026-12-02", "003 第十五条(二)"),
        # 001 (辽阳), 002 (平利), 004 (贵州) and 翁源 set no time limit for knowledge questions
        ("liaoyang", NOW, None, None),
        ("pingli", NOW, None, None),
        ("guizhou", NOW, None, None),
        ("wengyuan", NOW, None, None),
    ],
)
def test_the_due_is_the_packs_limit_from_the_asking_time(pack, asked, due, basis):
    d = deadlines_of(pack)
    shown, runs_out = questions.due_for(d, asked)
    assert shown == due
    assert d.policy.knowledge.basis == basis
    if due:
        # the unit has the whole of the last day
        assert runs_out == datetime.fromisoformat(due).replace(tzinfo=TZ) + timedelta(days=1)
    else:
        assert runs_out is None


def test_a_question_records_its_due_and_the_article(session, deadlines):
    q = ask(session, deadlines, now=datetime(2026, 11, 27, 16, 30, tzinfo=TZ))
    assert (q.unit_code, q.entry_id, q.entry_version, q.status) == ("rsj", "LS-RSJ-0003", 1, "open")
    assert (q.due, q.basis, q.kind_label) == ("2026-12-02", "003 第十五条(二)", "过期")


def test_without_a_limit_in_the_pack_a_question_has_no_due(session):
    q = ask(session, deadlines_of("liaoyang"))
    assert (q.due, q.due_at, q.basis) == (None, None, None)
    assert questions.overdue(session, NOW + timedelta(days=365)) == []


# ---------------------------------------------------------------- who may do what


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (user("admin"), True),
        (user("office"), True),
        (user("operator"), True),
        (user("unit_editor", "rsj"), False),
        (user("unit_reviewer", "rsj"), False),
    ],
)
def test_operators_the_office_and_administrators_ask(session, deadlines, actor, allowed):
    if allowed:
        assert ask(session, deadlines, actor=actor).asked_by == actor.username
    else:
        with pytest.raises(QuestionRefused) as refused:
            ask(session, deadlines, actor=actor)
        assert refused.value.status == 403
        assert "知识提问" in refused.value.message


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (user("unit_editor", "rsj"), True),
        (user("unit_reviewer", "rsj"), True),
        (user("admin"), True),
        (user("unit_editor", "gaj"), False),  # another unit's editor
        (user("unit_reviewer", "gaj"), False),
        (user("office"), False),
        (user("operator"), False),
    ],
)
def test_the_owning_units_editor_or_reviewer_or_an_administrator_answers(session, deadlines, actor, allowed):
    q = ask(session, deadlines)
    if allowed:
        done = questions.answer(session, actor, q.id, NOW, text="已更新补卡地点和电话", entry="LS-RSJ-0003")
        assert (done.status, done.answered_by, done.changed_entry) == (
            "answered",
            actor.username,
            "LS-RSJ-0003",
        )
    else:
        with pytest.raises(QuestionRefused) as refused:
            questions.answer(session, actor, q.id, NOW, text="已更新")
        assert refused.value.status == 403
        assert q.status == "open"


def test_answering_twice_is_refused(session, deadlines):
    q = ask(session, deadlines)
    questions.answer(session, RSJ_EDITOR, q.id, NOW, text="已更新补卡地点")
    with pytest.raises(QuestionRefused) as refused:
        questions.answer(session, user("unit_reviewer", "rsj"), q.id, NOW, text="再答一次")
    assert refused.value.status == 409
    assert RSJ_EDITOR.username in refused.value.message
    assert q.answer == "已更新补卡地点"


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"kind": "stale"}, 400, "提问类型"),
        ({"comment": "   "}, 400, "提问说明"),
        ({"comment": "长" * 2001}, 400, "2000"),
        ({"entry": "LS-NOPE-9999"}, 404, "LS-NOPE-9999"),
        ({"entry": None}, 400, "须指明知识条目"),  # only "missing" may name no entry
        ({"entry": "LS-RSJ-0003", "unit": "gaj"}, 400, "不属于"),
        ({"kind": "missing", "entry": None, "topic": "电动车上牌"}, 400, "单位"),
        ({"kind": "missing", "entry": None, "unit": "gaj"}, 400, "缺失的内容"),
        ({"kind": "missing", "entry": None, "unit": "nowhere", "topic": "电动车上牌"}, 400, "未知单位"),
    ],
)
def test_questions_that_cannot_be_asked(session, deadlines, fields, status, says):
    with pytest.raises(QuestionRefused) as refused:
        ask(session, deadlines, **fields)
    assert refused.value.status == status
    assert says in refused.value.message


def test_a_missing_topic_is_put_to_the_unit_that_should_write_it(session, deadlines):
    q = ask(
        session,
        deadlines,
        kind="missing",
        entry=None,
        unit="jjdd",
        topic="电动自行车怎么上牌",
        comment="常有人问",
    )
    assert (q.unit_code, q.entry_id, q.topic, q.kind_label) == ("jjdd", None, "电动自行车怎么上牌", "缺失")
    done = questions.answer(
        session, user("unit_editor", "jjdd"), q.id, NOW, text="已新增条目", entry="LS-JJDD-0001"
    )
    assert done.changed_entry == "LS-JJDD-0001"


@pytest.mark.parametrize(
    ("text", "entry", "says"),
    [("  ", None, "答复内容"), ("已更新", "LS-NOPE-1", "找不到"), ("已更新", "LS-GAJ-0005", "不属于本单位")],
)
def test_answers_that_cannot_be_given(session, deadlines, text, entry, says):
    q = ask(session, deadlines)
    with pytest.raises(QuestionRefused) as refused:
        questions.answer(session, RSJ_EDITOR, q.id, NOW, text=text, entry=entry)
    assert (refused.value.status, q.status) == (400, "open")
    assert says in refused.value.message


def test_an_unknown_question_is_not_found(session):
    with pytest.raises(QuestionRefused) as refused:
        questions.answer(session, RSJ_EDITOR, 404404, NOW, text="已更新")
    assert refused.value.status == 404


# ---------------------------------------------------------------- lists, audit, overdue


def test_questions_are_listed_by_unit_and_status(session, deadlines):
    first = ask(session, deadlines)
    second = ask(session, deadlines, kind="unclear", now=NOW + timedelta(hours=1), entry="LS-RSJ-0001")
    other = ask(session, deadlines, entry="LS-GAJ-0005")
    questions.answer(session, RSJ_EDITOR, first.id, NOW, text="已更新")
    assert questions.list_questions(session, unit="rsj") == [second, first]
    assert questions.list_questions(session, unit="rsj", status="open") == [second]
    assert questions.list_questions(session, status="open", unit="gaj") == [other]
    with pytest.raises(QuestionRefused):
        questions.list_questions(session, status="closed")


def test_every_action_is_in_the_audit_log(session, deadlines):
    q = ask(session, deadlines)
    questions.answer(session, RSJ_EDITOR, q.id, NOW + timedelta(hours=2), text="已更新")
    mine = select(KbAudit).where(KbAudit.actor != DEMO_ACTOR)  # loading the demo is an import too
    rows = session.scalars(mine.order_by(KbAudit.id)).all()
    assert [(r.actor, r.action, r.unit_code, r.entry_id) for r in rows] == [
        (OFFICE.username, "ask", "rsj", "LS-RSJ-0003"),
        (RSJ_EDITOR.username, "answer_question", "rsj", "LS-RSJ-0003"),
    ]
    assert rows[0].detail == {"question": q.id, "kind": "outdated", "due": "2026-11-26"}
    assert rows[1].detail == {"question": q.id, "late": False}


def test_a_question_is_overdue_after_its_last_day(session, deadlines):
    q = ask(session, deadlines)  # Monday: due Thursday 2026-11-26
    answered = ask(session, deadlines, entry="LS-RSJ-0001")
    questions.answer(session, RSJ_EDITOR, answered.id, NOW, text="已更新")
    assert questions.overdue(session, datetime(2026, 11, 26, 23, 59, tzinfo=TZ)) == []
    friday = datetime(2026, 11, 27, 0, 0, tzinfo=TZ)
    assert questions.overdue(session, friday) == [q]
    assert questions.overdue(session, friday, unit="gaj") == []
    assert q.to_dict(TZ, friday)["overdue"] is True
    late = questions.answer(session, RSJ_EDITOR, q.id, friday, text="已更新")
    assert late.to_dict(TZ, friday)["overdue"] is True  # answered, but late
    assert questions.overdue(session, friday) == []


def test_the_worker_flags_each_overdue_question_once(demo, deadlines, clock, caplog):
    with demo.db.session() as session:
        q = ask(session, deadlines, comment="市民张三13912345678说地址不对")
        on_time = ask(session, deadlines, entry="LS-RSJ-0001", now=NOW + timedelta(days=2))
        session.commit()
    worker = Worker(demo)
    assert worker.run_once()["knowledge"] == 0  # not due yet
    clock.now = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    with caplog.at_level(logging.WARNING, logger="kb.questions"):
        assert worker.run_once()["knowledge"] == 1
    assert worker.run_once()["knowledge"] == 0  # flagged once
    with demo.db.session() as session:
        flagged = questions.get(session, q.id)
        assert flagged.overdue_flagged_at == clock.now
        assert questions.get(session, on_time.id).overdue_flagged_at is None
        audit = session.scalars(select(KbAudit).where(KbAudit.action == "question_overdue")).all()
        assert [(a.actor, a.unit_code, a.detail["question"]) for a in audit] == [("system", "rsj", q.id)]
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "kb.questions")
    assert f"knowledge question {q.id}" in logged and "rsj" in logged
    assert "张三" not in logged and "139" not in logged  # the comment stays out of the log
