"""The editors' workflow: a unit's editor writes, its reviewer publishes, the published text keeps
answering while a change waits for review, every save is a version that can be compared and restored,
and nobody writes over somebody else's change."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from intake.core.models import Unit
from kb import editing
from kb.audit import KbAudit, recent
from kb.editing import Conflict, Invalid, NotAllowed, NotFound, SystemActor
from kb.models import KbEntry, current_revision
from kb.records import import_entries
from routing.catalogue import load_units

EDITOR = SystemActor("li.editor", "unit_editor", "rsj")
REVIEWER = SystemActor("wang.reviewer", "unit_reviewer", "rsj")
OTHER_EDITOR = SystemActor("zhao.editor", "unit_editor", "gjj")
OTHER_REVIEWER = SystemActor("qian.reviewer", "unit_reviewer", "gjj")
ADMIN = SystemActor("admin", "admin", None)
OFFICE = SystemActor("office", "office", None)

DRAFT = {
    "question": "灵活就业人员怎么参加职工养老保险？",
    "alt_questions": ["打零工的能交社保吗", "自由职业怎么交养老保险"],
    "answer": "持身份证到县社保中心窗口登记，按月或按年缴费。",
    "keywords": ["灵活就业", "养老保险"],
    "kind": "service",
    "service": {"office": "县社会保险服务中心", "phone": "0773-7512345", "hours": "工作日8:00-12:00"},
}


@pytest.fixture
def world(hotline):
    with hotline.db.session() as session:
        load_units(session)
        session.commit()
        units = set(session.scalars(select(Unit.code)))
    return hotline, units


def act(world, action, *args, **kwargs):
    """Run one editing action in its own transaction, as a request would."""
    hotline, units = world
    with hotline.db.session() as session:
        if action in (editing.create, editing.save, editing.restore):
            kwargs.setdefault("known_units", units)
        result = action(session, *args, now=hotline.clock(), **kwargs)
        session.commit()
        return result.public_id if isinstance(result, KbEntry) else result


def entry(world, public_id):
    hotline, _ = world
    with hotline.db.session() as session:
        row = editing.get(session, public_id)
        session.expunge(row)
        return row


def new_draft(world, actor=EDITOR, **fields):
    return act(world, editing.create, actor, {**DRAFT, **fields})


def published(world):
    public_id = new_draft(world)
    act(world, editing.submit, EDITOR, public_id)
    act(world, editing.publish, REVIEWER, public_id)
    return public_id


def test_an_entry_goes_from_draft_through_review_to_published(world):
    hotline, _ = world
    public_id = new_draft(world)
    assert public_id.startswith("RSJ-")
    assert entry(world, public_id).status == "draft"
    act(world, editing.submit, EDITOR, public_id)
    assert entry(world, public_id).status == "submitted"
    with hotline.db.session() as session:
        before = current_revision(session)
    act(world, editing.publish, REVIEWER, public_id)
    row = entry(world, public_id)
    assert (row.status, row.version, row.reviewed_on) == ("published", 1, hotline.clock().date())
    assert row.service["office"] == "县社会保险服务中心"
    with hotline.db.session() as session:
        assert current_revision(session) == before + 1  # every worker's index rebuilds
        actions = [(a.actor, a.action) for a in recent(session, entry=public_id)]
    assert actions == [("wang.reviewer", "publish"), ("li.editor", "submit"), ("li.editor", "create")]


def test_a_change_to_a_published_entry_waits_for_review_while_the_old_text_answers(world):
    public_id = published(world)
    act(world, editing.save, EDITOR, public_id, {**DRAFT, "answer": "新的答复：可网上办理。"}, base_version=1)
    row = entry(world, public_id)
    assert (row.status, row.pending_status, row.pending_version) == ("published", "draft", 2)
    assert row.answer == DRAFT["answer"]  # citizens still get the reviewed text
    act(world, editing.submit, EDITOR, public_id)
    assert entry(world, public_id).pending_status == "submitted"
    act(world, editing.publish, REVIEWER, public_id)
    row = entry(world, public_id)
    assert (row.answer, row.version, row.pending_version) == ("新的答复：可网上办理。", 2, None)


def test_saving_over_someone_elses_newer_version_is_refused(world):
    public_id = new_draft(world)
    act(world, editing.save, EDITOR, public_id, {**DRAFT, "answer": "同事先改了。"}, base_version=1)
    with pytest.raises(Conflict, match="li.editor .*第 2 版"):
        act(world, editing.save, REVIEWER, public_id, {**DRAFT, "answer": "我也改了。"}, base_version=1)
    assert entry(world, public_id).answer == "同事先改了。"


def test_saving_nothing_new_makes_no_version(world):
    hotline, _ = world
    public_id = new_draft(world)
    act(world, editing.save, EDITOR, public_id, dict(DRAFT), base_version=1)
    with hotline.db.session() as session:
        assert [v.number for v in editing.versions(session, editing.get(session, public_id))] == [1]


def test_every_version_is_kept_compared_and_restorable(world):
    hotline, _ = world
    public_id = published(world)
    act(world, editing.save, EDITOR, public_id, {**DRAFT, "answer": "改错了的答复。"}, base_version=1)
    act(world, editing.submit, EDITOR, public_id)
    act(world, editing.publish, REVIEWER, public_id)
    with hotline.db.session() as session:
        row = editing.get(session, public_id)
        first, second = editing.versions(session, row)
        assert (first.status, second.status) == ("superseded", "published")
        assert second.changed == ["answer"]
        (change,) = editing.diff(first.content, second.content)
        assert change.label == "答复内容"
        assert change.segments == (
            ("removed", DRAFT["answer"][:-1]),
            ("added", "改错了的答复"),
            ("same", "。"),
        )
    act(world, editing.restore, ADMIN, public_id, 1)
    row = entry(world, public_id)
    assert (row.pending_version, row.pending_status, row.answer) == (3, "draft", "改错了的答复。")
    act(world, editing.submit, ADMIN, public_id)
    act(world, editing.publish, ADMIN, public_id)
    assert entry(world, public_id).answer == DRAFT["answer"]
    with hotline.db.session() as session:
        third = editing.version(session, editing.get(session, public_id), 3)
        assert (third.author, third.note) == ("admin", "恢复第 1 版")


# who may do what: (actor, action, allowed)
PERMISSIONS = [
    (EDITOR, "create own unit", True),
    (OTHER_EDITOR, "create for another unit", False),
    (OFFICE, "create", False),
    (EDITOR, "save own unit", True),
    (OTHER_EDITOR, "save another unit's entry", False),
    (OTHER_REVIEWER, "publish another unit's entry", False),
    (EDITOR, "publish (an editor)", False),
    (REVIEWER, "publish own unit", True),
    (ADMIN, "publish anything", True),
    (EDITOR, "archive a published entry", False),
    (REVIEWER, "archive a published entry", True),
]


@pytest.mark.parametrize(
    "actor, action, allowed", PERMISSIONS, ids=[f"{a.role}:{w}" for a, w, _ in PERMISSIONS]
)
def test_roles(world, actor, action, allowed):
    def attempt():
        if action.startswith("create"):
            return new_draft(world, actor, unit="rsj")
        if action.startswith("save"):
            public_id = new_draft(world)
            return act(world, editing.save, actor, public_id, {**DRAFT, "answer": "改"}, base_version=1)
        if action.startswith("publish"):
            public_id = new_draft(world)
            act(world, editing.submit, EDITOR, public_id)
            return act(world, editing.publish, actor, public_id)
        public_id = published(world)
        return act(world, editing.archive, actor, public_id)

    if allowed:
        attempt()
    else:
        with pytest.raises(NotAllowed) as refused:
            attempt()
        assert refused.value.status == 403


@pytest.mark.parametrize(
    "step, message",
    [
        (lambda w, i: act(w, editing.publish, REVIEWER, i), "只有待审核的条目可以发布"),
        (lambda w, i: act(w, editing.send_back, REVIEWER, i, "不对"), "只有待审核的条目可以退回"),
        (lambda w, i: (act(w, editing.submit, EDITOR, i), act(w, editing.submit, EDITOR, i)), "只有草稿"),
    ],
    ids=["publish a draft", "send back a draft", "submit twice"],
)
def test_steps_out_of_order_are_conflicts(world, step, message):
    public_id = new_draft(world)
    with pytest.raises(Conflict, match=message) as refused:
        step(world, public_id)
    assert refused.value.status == 409


def test_a_reviewer_sends_a_draft_back_with_the_reason(world):
    hotline, _ = world
    public_id = new_draft(world)
    act(world, editing.submit, EDITOR, public_id)
    with pytest.raises(Invalid):
        act(world, editing.send_back, REVIEWER, public_id, "  ")
    act(world, editing.send_back, REVIEWER, public_id, "电话号码写错了")
    assert entry(world, public_id).status == "draft"
    with hotline.db.session() as session:
        last = session.scalars(select(KbAudit).order_by(KbAudit.id.desc())).first()
        assert (last.action, last.detail["reason"]) == ("send_back", "电话号码写错了")


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"question": ""}, "question is required"),
        ({"kind": "notice"}, "a notice needs valid_until"),
        ({"service": {"opening": "9点"}}, "service has unknown field opening"),
        ({"valid_from": "2026-12-01", "valid_until": "2026-11-01"}, "valid_from is after valid_until"),
        ({"review_every_days": 0}, "review_every_days"),
        ({"unit": "nosuch"}, "not in the unit catalogue"),
    ],
)
def test_bad_content_is_refused_with_every_problem_named(world, fields, problem):
    actor = ADMIN if "unit" in fields else EDITOR
    with pytest.raises(Invalid) as refused:
        new_draft(world, actor, **{"unit": "rsj", **fields})
    assert any(problem in p for p in refused.value.problems), refused.value.problems


def test_an_archived_entry_stops_answering_and_comes_back_only_by_restore(world):
    public_id = published(world)
    act(world, editing.archive, REVIEWER, public_id, reason="政策已废止")
    assert entry(world, public_id).status == "archived"
    with pytest.raises(Conflict, match="已归档"):
        act(world, editing.save, EDITOR, public_id, dict(DRAFT), base_version=1)
    act(world, editing.restore, EDITOR, public_id, 1)
    assert entry(world, public_id).status == "draft"


def test_entries_past_their_review_date_are_listed_for_their_unit(world):
    hotline, _ = world
    stale = published(world)
    act(world, editing.save, EDITOR, stale, {**DRAFT, "review_every_days": 30}, base_version=1)
    act(world, editing.submit, EDITOR, stale)
    act(world, editing.publish, REVIEWER, stale)
    fresh = new_draft(world, OTHER_EDITOR, unit="gjj", review_every_days=30)
    act(world, editing.submit, OTHER_EDITOR, fresh)
    act(world, editing.publish, OTHER_REVIEWER, fresh)
    today = hotline.clock().date()
    with hotline.db.session() as session:
        assert editing.due_for_review(session, today + timedelta(days=29)) == []
        later = today + timedelta(days=30)
        assert [e.public_id for e in editing.due_for_review(session, later, unit="rsj")] == [stale]
    hotline.clock.now += timedelta(days=31)
    act(world, editing.confirm_current, REVIEWER, stale)
    with hotline.db.session() as session:
        assert editing.due_for_review(session, today + timedelta(days=31), unit="rsj") == []
        assert editing.review_due_on(editing.get(session, stale)) == date(2027, 1, 23)


def test_unknown_entries_and_versions_are_not_found(world):
    public_id = new_draft(world)
    with pytest.raises(NotFound):
        act(world, editing.submit, EDITOR, "RSJ-NOSUCH")
    with pytest.raises(NotFound, match="第 9 版"):
        act(world, editing.restore, EDITOR, public_id, 9)


def test_a_rewritten_sentence_diffs_as_struck_and_added_text_not_confetti():
    """Unrelated Chinese sentences share single characters (车, 到, 办); a diff that kept each of them
    as 'unchanged' would be unreadable, so islands of one or two characters join the change."""
    old = {
        **DRAFT,
        "id": "X",
        "unit": "rsj",
        "answer": "电动自行车上牌已改为网上预约：关注公众号预约后到车管所领取号牌。",
    }
    new = {**old, "answer": "带购车发票、合格证和身份证到县交警大队车管所办理，当场发放号牌。"}
    (change,) = editing.diff(old, new)
    islands = [t for k, t in change.segments[1:-1] if k == "same" and len(t) <= 2]
    assert islands == []
    assert "".join(t for k, t in change.segments if k != "added") == old["answer"]
    assert "".join(t for k, t in change.segments if k != "removed") == new["answer"]


def test_a_published_service_entry_answers_with_its_office_phone_and_hours(world):
    """003 第十五条(三)2: a service's office, phone and hours are fields, and the citizen gets them."""
    hotline, _ = world
    published(world)
    outcome = hotline.decide("灵活就业人员怎么参加职工养老保险？", channel="web")
    assert outcome.action == "answer"
    assert outcome.reply.startswith(DRAFT["answer"])
    assert "受理单位：县社会保险服务中心" in outcome.reply and "联系电话：0773-7512345" in outcome.reply


def test_an_import_publishes_the_files_text_over_a_draft_and_a_pending_change(world, tmp_path):
    """The file is reviewed text: a draft it names is published, and a change pending on the old text
    (which would undo the import once published) is dropped, kept in the history."""
    hotline, units = world
    draft = new_draft(world)
    live = published(world)
    act(world, editing.save, EDITOR, live, {**DRAFT, "answer": "待审核的修改。"}, base_version=1)
    rows = [{**DRAFT, "id": i, "unit": "rsj", "answer": f"导入的答复{i}"} for i in (draft, live)]
    path = tmp_path / "kb.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with hotline.db.session() as session:
        report = import_entries(session, path, units, now=hotline.clock())
        session.commit()
    assert (report.added, report.updated, report.errors) == (0, 2, [])
    for public_id in (draft, live):
        row = entry(world, public_id)
        assert (row.status, row.pending_version, row.answer) == ("published", None, f"导入的答复{public_id}")
    with hotline.db.session() as session:
        statuses = [v.status for v in editing.versions(session, editing.get(session, live))]
    assert statuses == ["superseded", "draft", "published"]
