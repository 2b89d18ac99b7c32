"""The knowledge editors' pages at /editor/: a unit's editor writes and submits, its reviewer publishes,
nobody edits another unit's entries, every POST needs the session's CSRF token, and every refusal is a
page in Chinese that says why (403, 404, 409, and a form that shows each problem next to its field)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kb import editing
from kb.editing import SystemActor
from kb.models import KbEntry, KbEntryVersion
from tests.channels.staff.test_office import CSRF, add_staff, login

GJJ_ENTRY = "LS-GJJ-0001"  # 住房公积金可以在哪些情况下提取？怎么办理？ (another unit than rsj)
PLATE = {
    "question": "电动自行车怎么上牌照？",
    "alt_questions": "电瓶车在哪里上牌\n电动车挂牌要带什么",
    "answer": "带购车发票、合格证和身份证到县交警大队车管所办理，当场发牌。",
    "keywords": "电动自行车，上牌",
    "kind": "answer",
}
PARAPHRASE = "我的电瓶车要去哪里上牌"


@pytest.fixture
def staff(demo):
    add_staff(demo, "li", "unit_editor", "jjdd")
    add_staff(demo, "wang", "unit_reviewer", "jjdd")
    add_staff(demo, "zhao", "unit_editor", "gjj")
    add_staff(demo, "root", "admin")
    add_staff(demo, "desk", "office")
    return demo


@pytest.fixture
def sign_in(app, staff):
    """A test client signed in as ``username`` (each its own browser)."""

    def signed(username: str):
        client = app.test_client()
        assert login(client, username).status_code == 302
        return client

    return signed


def text(response) -> str:
    """The page's visible text, tags dropped, for asserting what a person reads."""
    body = response.get_data(as_text=True)
    main = re.search(r"<main[^>]*>(.*)</main>", body, re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main.group(1) if main else body)))


def token(client, path: str = "/editor/") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def post(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": token(client), **(data or {})}, **kwargs)


def create(client, **fields) -> str:
    """Fill in the new-entry form and save; returns the new entry's public id."""
    response = post(client, "/editor/new", {**PLATE, **fields, "action": "save"})
    assert response.status_code == 302, text(response)
    return re.search(r"/editor/entries/([^/?]+)", response.headers["Location"]).group(1)


def edit_form(client, public_id: str) -> dict:
    """The edit form's values as a browser would send them back unchanged."""
    page = client.get(f"/editor/entries/{public_id}/edit").get_data(as_text=True)
    base = re.search(r'name="base_version" value="(\d+)"', page).group(1)
    return {**PLATE, "base_version": base}


def row(demo, public_id: str) -> KbEntry:
    with demo.db.session() as session:
        entry = editing.get(session, public_id)
        session.expunge(entry)
        return entry


def answered_with(client, question: str) -> str | None:
    return client.post("/api/v1/triage", json={"text": question}).get_json()["kb_id"]


# ---------------------------------------------------------------- signing in, the list


def test_the_editor_pages_send_strangers_to_the_staff_login_and_back(app, staff):
    client = app.test_client()
    response = client.get("/editor/entries/LS-RSJ-0001")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/office/login?next=/editor/entries/LS-RSJ-0001")
    page = client.get("/office/login")
    sent = {"username": "li", "password": "correct horse battery"}
    sent["csrf_token"] = CSRF.search(page.get_data(as_text=True)).group(1)
    back = client.post("/office/login?next=/editor/entries/LS-RSJ-0001", data=sent)
    assert back.headers["Location"] == "/editor/entries/LS-RSJ-0001"


def test_a_unit_sees_its_own_entries_first_and_the_office_sees_all_units(sign_in):
    mine = text(sign_in("zhao").get("/editor/"))
    assert "桂林市住房公积金管理中心龙胜管理部的条目" in mine and "住房公积金可以在哪些情况下提取" in mine
    assert "社保卡丢了怎么挂失和补办" not in mine  # rsj's, not the gjj editor's
    office = sign_in("desk")
    everything = text(office.get("/editor/"))
    assert "全部单位的条目" in everything and "新建条目" not in everything
    assert "社保卡丢了怎么挂失和补办" in text(office.get("/editor/?q=社保卡"))
    one_unit = text(office.get("/editor/?unit=gjj"))
    assert "住房公积金可以在哪些情况下提取" in one_unit and "社保卡丢了" not in one_unit


def test_the_list_filters_by_working_status_and_shows_a_change_waiting_for_review(sign_in, staff):
    li, wang = sign_in("li"), sign_in("wang")
    public_id = create(li)
    assert "电动自行车怎么上牌照" in text(li.get("/editor/?status=draft"))
    assert "电动自行车怎么上牌照" not in text(li.get("/editor/?status=published"))
    post(li, f"/editor/entries/{public_id}/submit")
    post(wang, f"/editor/entries/{public_id}/publish")
    post(li, f"/editor/entries/{public_id}/edit", {**edit_form(li, public_id), "answer": "改为网上办理。"})
    post(li, f"/editor/entries/{public_id}/submit")
    listed = text(li.get("/editor/?status=submitted"))
    assert "电动自行车怎么上牌照" in listed and "已发布 · 有待审核的修改" in listed


# ---------------------------------------------------------------- the workflow through the pages


def test_an_editor_writes_a_reviewer_publishes_and_the_hotline_answers_at_once(sign_in, staff, client):
    li, wang = sign_in("li"), sign_in("wang")
    assert answered_with(client, PARAPHRASE) is None
    public_id = create(li, note="新增上牌指南")
    page = li.get(f"/editor/entries/{public_id}")
    assert "草稿" in text(page) and "新增上牌指南" in text(page)  # the version's note
    assert ">提交审核</button>" in page.get_data(as_text=True)
    assert ">发布</button>" not in page.get_data(as_text=True)  # the reviewer's step

    assert post(li, f"/editor/entries/{public_id}/submit").status_code == 302
    refused = post(li, f"/editor/entries/{public_id}/publish")
    assert refused.status_code == 403 and "审核员" in text(refused)
    assert answered_with(client, PARAPHRASE) is None  # submitted is not published

    waiting = text(wang.get("/editor/"))
    assert "待我审核（1）" in waiting and "电动自行车怎么上牌照" in waiting
    published = post(wang, f"/editor/entries/{public_id}/publish", follow_redirects=True)
    assert "已发布：热线各渠道从现在起用此内容答复" in text(published)
    assert row(staff, public_id).status == "published"
    assert answered_with(client, PARAPHRASE) == public_id


def test_a_change_to_a_published_entry_waits_beside_the_live_text_until_published(sign_in, staff, client):
    li, wang = sign_in("li"), sign_in("wang")
    public_id = create(li)
    post(li, f"/editor/entries/{public_id}/submit")
    post(wang, f"/editor/entries/{public_id}/publish")
    post(li, f"/editor/entries/{public_id}/edit", {**edit_form(li, public_id), "answer": "可在网上办理。"})
    page = text(li.get(f"/editor/entries/{public_id}"))
    assert "已发布 · 有未提交的修改" in page
    assert "市民现在看到的内容（已发布第 1 版）" in page and "修改中的内容（第 2 版，草稿）" in page
    live = staff.decide(PARAPHRASE)
    assert live.kb_id == public_id and "当场发牌" in live.reply


def test_a_reviewer_sends_back_with_a_reason_the_editor_reads(sign_in):
    li, wang = sign_in("li"), sign_in("wang")
    public_id = create(li)
    post(li, f"/editor/entries/{public_id}/submit")
    no_reason = post(wang, f"/editor/entries/{public_id}/send-back", {"reason": " "})
    assert no_reason.status_code == 400 and "请写明退回原因" in text(no_reason)
    post(wang, f"/editor/entries/{public_id}/send-back", {"reason": "请写明收费标准"})
    page = text(li.get(f"/editor/entries/{public_id}"))
    assert "审核员退回了此条目" in page and "请写明收费标准" in page and "提交审核" in page


def test_entries_past_their_review_date_are_listed_until_a_reviewer_confirms_them(sign_in, clock):
    li, wang = sign_in("li"), sign_in("wang")
    public_id = create(li, review_every_days="30")
    post(li, f"/editor/entries/{public_id}/submit")
    post(wang, f"/editor/entries/{public_id}/publish")
    assert "待复核（0）" in text(li.get("/editor/"))
    clock.now += timedelta(days=31)
    due = text(li.get("/editor/"))
    assert "待复核（1）" in due and "2026-12-23" in due
    assert "确认仍然有效" not in text(li.get(f"/editor/entries/{public_id}"))  # the reviewer's step
    post(wang, f"/editor/entries/{public_id}/confirm")
    assert "待复核（0）" in text(li.get("/editor/"))


def test_an_administrator_compares_and_restores_an_earlier_version(sign_in, staff):
    li, root = sign_in("li"), sign_in("root")
    public_id = create(li)
    post(li, f"/editor/entries/{public_id}/edit", {**edit_form(li, public_id), "answer": "可在网上办理。"})
    compared = root.get(f"/editor/entries/{public_id}/versions/2").get_data(as_text=True)
    # one change, not confetti: the two characters both texts share ("办理") go with it
    removed, added = (
        "<del>带购车发票、合格证和身份证到县交警大队车管所办理，当场发牌</del>",
        "<ins>可在网上办理</ins>",
    )
    assert f"{removed}{added}。" in compared
    restored = post(root, f"/editor/entries/{public_id}/versions/1/restore", follow_redirects=True)
    assert "已把第 1 版恢复为新的草稿" in text(restored)
    assert "恢复第 1 版" in text(restored)  # the new version's note
    assert row(staff, public_id).answer == PLATE["answer"]
    post(root, f"/editor/entries/{public_id}/submit")
    post(root, f"/editor/entries/{public_id}/publish")
    assert (row(staff, public_id).status, row(staff, public_id).version) == ("published", 3)


def test_an_archived_entry_stops_answering_and_comes_back_by_restoring(sign_in, staff, client):
    li, wang = sign_in("li"), sign_in("wang")
    public_id = create(li)
    post(li, f"/editor/entries/{public_id}/submit")
    post(wang, f"/editor/entries/{public_id}/publish")
    assert post(li, f"/editor/entries/{public_id}/archive").status_code == 403  # live: the reviewer's
    post(wang, f"/editor/entries/{public_id}/archive", {"reason": "政策调整"})
    assert answered_with(client, PARAPHRASE) is None
    edit = li.get(f"/editor/entries/{public_id}/edit")
    assert edit.status_code == 409 and "恢复一个版本" in text(edit)
    post(li, f"/editor/entries/{public_id}/versions/1/restore")
    assert row(staff, public_id).status == "draft"


# ---------------------------------------------------------------- the form


def test_a_new_entry_can_start_from_a_question_in_the_address(sign_in):
    page = sign_in("li").get("/editor/new?question=电瓶车上牌去哪里")
    assert 'value="电瓶车上牌去哪里"' in page.get_data(as_text=True)


def test_an_invalid_form_comes_back_with_each_problem_next_to_its_field(sign_in, staff):
    li = sign_in("li")
    with staff.db.session() as session:
        before = session.scalar(select(func.count()).select_from(KbEntry))
    sent = {"question": "", "answer": "", "alt_questions": "电瓶车上牌", "kind": "notice",
            "valid_from": "2026-12-01", "valid_until": "2026-11-30", "review_every_days": "每月"}  # fmt: skip
    response = post(li, "/editor/new", {**sent, "action": "save"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    problems = {
        "f-question": "请填写标准问题。",
        "f-answer": "请填写答复内容。",
        "f-valid-until": "失效日期不能早于生效日期。",
        "f-review-every-days": "复核周期请填写 1 到 3660 之间的整数天数，或留空。",
    }
    for field, problem in problems.items():
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', page, re.S), field
        assert f'<p class="field-error" id="{field}-error">{problem}' in page
    assert "请修改以下 4 处问题后再保存" in text(response)
    assert "电瓶车上牌</textarea>" in page  # what the user typed is kept
    with staff.db.session() as session:
        assert session.scalar(select(func.count()).select_from(KbEntry)) == before


@pytest.mark.parametrize("days", ["0", "²"], ids=["zero", "superscript-two"])
def test_a_review_interval_that_is_no_whole_number_of_days_is_refused(sign_in, days):
    response = post(sign_in("li"), "/editor/new", {**PLATE, "review_every_days": days, "action": "save"})
    assert response.status_code == 400
    assert "复核周期请填写 1 到 3660 之间的整数天数" in text(response)


def test_a_notice_needs_the_day_it_ends(sign_in):
    response = post(sign_in("li"), "/editor/new", {**PLATE, "kind": "notice", "action": "save"})
    assert response.status_code == 400
    assert "公告通知必须填写失效日期" in text(response)


def test_service_fields_are_saved_for_a_service_entry(sign_in, staff):
    li = sign_in("li")
    public_id = create(li, kind="service", **{"service.office": "县交警大队车管所", "service.fees": "免费"})
    assert row(staff, public_id).service == {"office": "县交警大队车管所", "fees": "免费"}
    page = text(li.get(f"/editor/entries/{public_id}"))
    assert "受理单位 县交警大队车管所" in page and "收费标准 免费" in page


def test_the_preview_shows_how_test_questions_are_answered_now_and_with_the_draft(sign_in, staff):
    li = sign_in("li")
    sent = {**PLATE, "action": "preview", "tests": f"{PARAPHRASE}\n社保卡丢了咋办"}
    response = post(li, "/editor/new", sent)
    assert response.status_code == 200
    page = text(response)
    assert f"{PARAPHRASE} 不能回答" in page
    assert "直接回答：电动自行车怎么上牌照？" in page and "有变化" in page
    assert "社保卡丢了咋办 直接回答：社保卡丢了怎么挂失和补办？" in page
    with staff.db.session() as session:  # a preview saves nothing
        assert not session.scalar(select(KbEntry).where(KbEntry.question == PLATE["question"]))


def test_saving_a_copy_of_a_live_question_warns_of_the_near_duplicate(sign_in):
    li = sign_in("li")
    response = post(li, "/editor/new", {**PLATE, "question": "社保卡丢了咋办？", "action": "save"})
    page = text(li.get(response.headers["Location"]))
    assert "可能与已发布的条目重复" in page and "社保卡丢了怎么挂失和补办？" in page


def test_a_save_over_a_colleagues_newer_version_is_refused_keeping_the_text(sign_in, staff):
    li, wang = sign_in("li"), sign_in("wang")
    public_id = create(li)
    mine = edit_form(li, public_id)  # loaded at version 1
    post(wang, f"/editor/entries/{public_id}/edit", {**edit_form(wang, public_id), "answer": "同事的答复。"})
    response = post(li, f"/editor/entries/{public_id}/edit", {**mine, "answer": "我的答复。"})
    assert response.status_code == 409
    page = text(response)
    assert "有人在您编辑期间保存了此条目" in page and "wang 于 2026-11-23 10:00 保存了第 2 版" in page
    assert "我的答复。</textarea>" in response.get_data(as_text=True)
    assert "<del>同事</del><ins>我</ins>的答复。" in response.get_data(as_text=True)  # theirs → mine
    assert row(staff, public_id).answer == "同事的答复。"
    # having read their change, saving again is deliberate and lands on top of it
    again = re.search(r'name="base_version" value="(\d+)"', response.get_data(as_text=True)).group(1)
    assert again == "2"
    post(li, f"/editor/entries/{public_id}/edit", {**mine, "base_version": again, "answer": "我的答复。"})
    assert row(staff, public_id).answer == "我的答复。"


# ---------------------------------------------------------------- who may do what


def test_an_editor_cannot_edit_another_units_entry_and_is_told_why(sign_in, staff):
    li = sign_in("li")
    page = li.get(f"/editor/entries/{GJJ_ENTRY}")
    assert page.status_code == 200
    assert f"/editor/entries/{GJJ_ENTRY}/edit" not in page.get_data(as_text=True)
    assert "恢复此版本" not in text(page) and "修改由桂林市住房公积金管理中心龙胜管理部负责" in text(page)
    for response in (
        li.get(f"/editor/entries/{GJJ_ENTRY}/edit"),
        post(li, f"/editor/entries/{GJJ_ENTRY}/edit", {**PLATE, "base_version": "1"}),
    ):
        assert response.status_code == 403
        assert "不能修改其他单位的知识条目" in text(response)
        assert "只能修改本单位的知识条目" in text(response)
    for step in ("submit", "publish", "archive", "confirm", "versions/1/restore"):
        assert post(li, f"/editor/entries/{GJJ_ENTRY}/{step}").status_code == 403, step
    with staff.db.session() as session:
        assert row(staff, GJJ_ENTRY).status == "published"
        entry = editing.get(session, GJJ_ENTRY)
        assert session.scalar(select(func.count()).where(KbEntryVersion.entry_id == entry.id)) == 1


def test_the_office_reads_everything_and_changes_nothing(sign_in):
    desk = sign_in("desk")
    page = desk.get("/editor/entries/LS-RSJ-0001")
    assert page.status_code == 200 and "提交审核" not in text(page)
    refused = desk.get("/editor/new")
    assert refused.status_code == 403 and "可以查看知识条目，但不能新建" in text(refused)
    assert desk.get("/editor/entries/LS-RSJ-0001/edit").status_code == 403
    # ...but may put a knowledge question to the unit about it (003 第十五条(二))
    assert "/editor/questions/new?entry=LS-RSJ-0001" in page.get_data(as_text=True)
    assert "/editor/questions/new" not in sign_in("li").get("/editor/entries/LS-RSJ-0001").get_data(
        as_text=True
    )


def test_an_administrator_may_write_for_any_unit(sign_in, staff):
    root = sign_in("root")
    public_id = create(root, unit="gjj")
    assert row(staff, public_id).unit_code == "gjj"
    missing = post(root, "/editor/new", {**PLATE, "unit": "", "action": "save"})
    assert missing.status_code == 400 and "请填写所属单位" in text(missing)


def test_an_unknown_entry_is_a_404_page_in_chinese(sign_in):
    li = sign_in("li")
    for response in (li.get("/editor/entries/NOPE-1"), li.get("/editor/entries/LS-RSJ-0001/versions/99")):
        assert response.status_code == 404
        assert "找不到" in text(response)


POSTS = [  # every form the editors' pages send
    ("/editor/new", {**PLATE, "action": "save"}),
    ("/editor/entries/{id}/edit", {**PLATE, "answer": "改了", "base_version": "1"}),
    ("/editor/entries/{id}/submit", {}),
    ("/editor/entries/{id}/publish", {}),
    ("/editor/entries/{id}/send-back", {"reason": "不清楚"}),
    ("/editor/entries/{id}/archive", {}),
    ("/editor/entries/{id}/confirm", {}),
    ("/editor/entries/{id}/versions/1/restore", {}),
]


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_every_post_needs_the_sessions_csrf_token(sign_in, staff, path, data):
    root = sign_in("root")
    with staff.db.session() as session:
        public_id = editing.create(
            session, SystemActor(), {**PLATE, "unit": "jjdd", "alt_questions": [], "keywords": []},
            {"jjdd"}, staff.clock(),
        ).public_id  # fmt: skip
        session.commit()
    url = path.format(id=public_id)
    for sent in ({}, {"csrf_token": "forged"}):
        response = root.post(url, data={**data, **sent})
        assert response.status_code == 400
        assert "安全令牌" in text(response)
    with staff.db.session() as session:
        assert session.scalar(select(func.count()).select_from(KbEntryVersion).where(
            KbEntryVersion.entry_id == editing.get(session, public_id).id)) == 1  # fmt: skip
        assert session.scalar(select(func.count()).select_from(KbEntry)) == 109
