"""The editors' tool pages: knowledge questions, gaps, import and export, the audit log, staff accounts."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select

from app import create_app
from intake.core.staff import StaffUser, add_user
from intake.demo import DEMO_ACTOR
from kb.audit import KbAudit
from kb.gaps import record_gap
from kb.models import KbEntry
from kb.questions import KbQuestion
from kb.records import parse_rows

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STAFF = {
    "root": ("admin", None),
    "wang": ("office", None),
    "zhou": ("operator", None),
    "rsj-ed": ("unit_editor", "rsj"),
    "rsj-rev": ("unit_reviewer", "rsj"),
    "gaj-rev": ("unit_reviewer", "gaj"),
}
AS_ROLE = {
    "admin": "root",
    "office": "wang",
    "operator": "zhou",
    "unit_editor": "rsj-ed",
    "unit_reviewer": "rsj-rev",
}
PAGES = (
    "/editor/questions",
    "/editor/questions/new",
    "/editor/gaps",
    "/editor/import",
    "/editor/export",
    "/editor/export?format=jsonl",
    "/editor/audit",
    "/editor/users",
)
# who may open which page (everyone else who reads the knowledge base gets 403)
ALLOWED = {
    "/editor/questions/new": {"admin", "office", "operator"},  # 003 第十五条(二): the office asks
    "/editor/import": {"admin", "unit_reviewer"},  # a unit's reviewed text, or the administrator's
    "/editor/users": {"admin"},
}


@pytest.fixture
def app(demo):
    with demo.db.session() as session:
        for name, (role, unit) in STAFF.items():
            add_user(session, name, PASSWORD, role, demo.clock(), unit_code=unit)
        session.commit()
    return create_app({"hotline": demo, "TESTING": True})


def signed_in(app, username: str):
    """A client signed in as ``username`` through the shared staff login."""
    client = app.test_client()
    page = client.get("/office/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/office/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        query_string={"next": "/editor/"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def token_of(client, path: str = "/editor/questions") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def text(response) -> str:
    return response.get_data(as_text=True)


def upload(client, name: str, content: str | bytes, csrf: bool = True):
    raw = content.encode() if isinstance(content, str) else content
    data = {"file": (io.BytesIO(raw), name)}
    if csrf:
        data["csrf_token"] = token_of(client)
    return client.post("/editor/import", data=data, content_type="multipart/form-data")


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def entry(public_id: str, unit: str, question: str, answer: str = "工作日到政务服务中心办理。") -> dict:
    return {"id": public_id, "unit": unit, "question": question, "answer": answer}


def audit_rows(demo, action: str) -> list[KbAudit]:
    """The test's own audit rows of ``action`` (loading the demo county is an import too)."""
    query = select(KbAudit).where(KbAudit.action == action, KbAudit.actor != DEMO_ACTOR)
    with demo.db.session() as session:
        return list(session.scalars(query.order_by(KbAudit.id)))


# ---------------------------------------------------------------- who may open what


@pytest.mark.parametrize("role", sorted(AS_ROLE))
def test_each_page_opens_for_the_roles_it_serves_and_refuses_the_others(app, role):
    client = signed_in(app, AS_ROLE[role])
    for path in PAGES:
        expected = 200 if role in ALLOWED.get(path, {role}) else 403
        assert client.get(path).status_code == expected, (role, path)


@pytest.mark.parametrize("path", PAGES)
def test_nobody_signed_in_is_sent_to_the_staff_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == f"/office/login?next={path}"


def test_the_navigation_shows_only_the_pages_a_role_may_open(app):
    admin = text(signed_in(app, "root").get("/editor/audit"))
    editor = text(signed_in(app, "rsj-ed").get("/editor/audit"))
    for label in ("知识提问", "知识缺口", "导入导出", "操作记录", "账号管理"):
        assert f">{label}</a>" in admin
    assert ">导出</a>" in editor and ">导入导出</a>" not in editor and ">账号管理</a>" not in editor


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/editor/questions/new", {"kind": "wrong", "comment": "电话号码错了", "entry": "LS-RSJ-0003"}),
        (
            "/editor/users",
            {"username": "new", "role": "office", "password": PASSWORD, "password_again": PASSWORD},
        ),
        ("/editor/users/1/active", {"active": "0"}),
        ("/editor/import", {}),
    ],
)
def test_every_post_needs_the_sessions_csrf_token(app, demo, path, data):
    client = signed_in(app, "root")
    for token in (None, "forged"):
        form = data | ({"csrf_token": token} if token else {})
        assert client.post(path, data=form).status_code == 400
    with demo.db.session() as session:
        assert session.scalar(select(KbQuestion.id)) is None
        assert session.scalar(select(StaffUser.id).where(StaffUser.username == "new")) is None
        assert all(u.active for u in session.scalars(select(StaffUser)))


# ---------------------------------------------------------------- knowledge questions


def ask(client, **fields):
    form = {"kind": "outdated", "comment": "补卡地点已搬到新政务中心", "entry": "LS-RSJ-0003"} | fields
    return client.post(
        "/editor/questions/new", data=form | {"csrf_token": token_of(client, "/editor/questions/new")}
    )


def test_the_office_asks_and_the_owning_unit_answers_through_the_pages(app, demo):
    office = signed_in(app, "wang")
    form = text(office.get("/editor/questions/new?entry=LS-RSJ-0003"))
    assert "LS-RSJ-0003" in form and 'value="outdated"' in form

    asked = ask(office)
    assert asked.status_code == 302
    page = text(office.get(asked.headers["Location"]))
    # 003 第十五条(二): three working days from Monday 2026-11-23
    assert "已向" in page and "2026-11-26" in page and "003 第十五条(二)" in page
    question_path = asked.headers["Location"]
    number = int(question_path.rsplit("/", 1)[1])

    editor = signed_in(app, "rsj-ed")
    listing = text(editor.get("/editor/questions"))
    assert (
        f"第 {number} 号提问" in listing and "2026-11-26" in listing and "补卡地点已搬到新政务中心" in listing
    )

    # another unit neither sees nor answers it
    other = signed_in(app, "gaj-rev")
    assert "补卡地点" not in text(other.get("/editor/questions"))
    assert other.get(question_path).status_code == 403
    refused = other.post(f"{question_path}/answer", data={"answer": "改了", "csrf_token": token_of(other)})
    assert refused.status_code == 403
    # the office may ask but not answer for the unit
    assert 'name="answer"' not in text(office.get(question_path))

    empty = editor.post(f"{question_path}/answer", data={"answer": " ", "csrf_token": token_of(editor)})
    assert empty.status_code == 400 and "请填写答复内容" in text(empty)

    answered = editor.post(
        f"{question_path}/answer",
        data={
            "answer": "已改为新政务中心地址",
            "changed_entry": "LS-RSJ-0003",
            "csrf_token": token_of(editor),
        },
    )
    assert answered.status_code == 302
    shown = text(editor.get(question_path))
    assert "已答复" in shown and "已改为新政务中心地址" in shown and 'name="answer"' not in shown
    assert "补卡地点" not in text(editor.get("/editor/questions"))  # no longer open
    assert "已改为新政务中心地址" not in text(
        office.get("/editor/questions?status=answered")
    )  # the list trims
    assert f"第 {number} 号提问" in text(office.get("/editor/questions?status=answered"))

    again = editor.post(f"{question_path}/answer", data={"answer": "再答", "csrf_token": token_of(editor)})
    assert again.status_code == 409
    assert [r.actor for r in audit_rows(demo, "ask")] == ["wang"]
    assert [r.actor for r in audit_rows(demo, "answer_question")] == ["rsj-ed"]


def test_a_question_the_rules_refuse_is_shown_again_with_the_reason(app, demo):
    office = signed_in(app, "wang")
    no_comment = ask(office, comment="")
    assert no_comment.status_code == 400 and "请填写提问说明" in text(no_comment)
    unknown = ask(office, entry="LS-NOPE-9999")
    assert unknown.status_code == 404 and "找不到知识条目 LS-NOPE-9999" in text(unknown)
    missing = ask(office, kind="missing", entry="", unit="rsj", topic="")
    assert missing.status_code == 400 and "请填写缺失的内容" in text(missing)
    assert ask(office, kind="missing", entry="", unit="rsj", topic="灵活就业人员参保").status_code == 302
    with demo.db.session() as session:
        assert session.scalars(select(KbQuestion.topic)).all() == ["灵活就业人员参保"]


def test_overdue_questions_come_first_and_are_marked_in_words(app, demo, clock):
    office = signed_in(app, "wang")
    ask(office, comment="第一个提问")
    clock.now += timedelta(days=2)
    ask(office, comment="第二个提问")
    clock.now += timedelta(days=2)  # Friday 27th: the first (due the 26th) is overdue, the second not
    page = text(office.get("/editor/questions"))
    assert page.index("第一个提问") < page.index("第二个提问")
    assert page.count("已逾期</strong>") == 1 and "1 条已逾期未答复" in page
    assert 'class="tools-late"' in page
    unit_page = text(signed_in(app, "rsj-rev").get("/editor/questions"))
    assert unit_page.count("已逾期</strong>") == 1


# ---------------------------------------------------------------- gaps

LAND = "请问县里的征地补偿标准是多少?"


def test_gaps_list_the_most_asked_first_with_a_prefilled_new_entry_link(app, demo):
    asked = ["马堤乡的芋头收购价今年是多少?", "今年马堤芋头收购价格多少钱一斤?", "马堤乡芋头现在收购价多少?"]
    with demo.db.session() as session:
        record_gap(session, LAND, "web", demo.clock() - timedelta(hours=3))
        for i, question in enumerate(asked):
            record_gap(session, question, "web", demo.clock() - timedelta(hours=2 - i))
        record_gap(session, "去年的问题", "web", demo.clock() - timedelta(days=40))  # outside 30 days
        session.commit()
    page = text(signed_in(app, "rsj-ed").get("/editor/gaps"))
    assert page.index(asked[0]) < page.index(LAND)
    assert "×3" in page and "×1" in page and "去年的问题" not in page
    assert "2026-11-23 10:00" in page  # the last time it was asked
    links = [html.unescape(h) for h in re.findall(r'href="(/editor/new\?[^"]+)">从此新建条目', page)]
    assert [parse_qs(urlsplit(link).query)["question"] for link in links] == [[asked[0]], [LAND]]
    assert "去年的问题" in text(signed_in(app, "rsj-ed").get("/editor/gaps?days=90"))


# ---------------------------------------------------------------- import and export


def test_an_administrator_imports_a_good_file_for_several_units(app, demo):
    admin = signed_in(app, "root")
    content = jsonl(
        entry("T-RSJ-1", "rsj", "灵活就业人员怎么参加职工养老保险？"),
        entry("T-GAJ-1", "gaj", "临时身份证怎么办理？"),
        entry("LS-RSJ-0001", "rsj", "城乡居民养老保险每年什么时候缴费？", "每年1月1日至12月31日均可缴纳。"),
    )
    response = upload(admin, "entries.jsonl", content)
    assert response.status_code == 302
    assert "新增 2 条，更新 1 条，未变 0 条" in text(admin.get(response.headers["Location"]))
    with demo.db.session() as session:
        added = session.scalar(select(KbEntry).where(KbEntry.public_id == "T-GAJ-1"))
        assert added.status == "published" and added.unit_code == "gaj"
    rows = {r.unit_code: r for r in audit_rows(demo, "import")}
    assert set(rows) == {"rsj", "gaj"} and {r.actor for r in rows.values()} == {"root"}
    assert rows["rsj"].detail == {"file": "entries.jsonl", "added": 1, "updated": 1, "unchanged": 0}
    assert rows["gaj"].detail == {"file": "entries.jsonl", "added": 1, "updated": 0, "unchanged": 0}


def test_a_bad_file_imports_nothing_and_lists_every_bad_line(app, demo):
    content = (
        jsonl(entry("T-RSJ-1", "rsj", "好的一行"))
        + json.dumps({"id": "T-RSJ-2", "unit": "rsj", "question": "没有答复"}, ensure_ascii=False)
        + "\n\n{not json\n"
        + jsonl(entry("T-RSJ-3", "nowhere", "未知单位"))
    )
    response = upload(signed_in(app, "root"), "bad.jsonl", content)
    page = text(response)
    assert response.status_code == 400 and "有 3 处问题，未导入任何条目" in page
    assert "第 2 行：answer is required text" in page
    assert "第 4 行：not valid JSON" in page
    assert "第 5 行：unit &#39;nowhere&#39; is not in the unit catalogue" in page
    with demo.db.session() as session:
        assert session.scalar(select(KbEntry.id).where(KbEntry.public_id == "T-RSJ-1")) is None
    assert audit_rows(demo, "import") == []


def test_a_unit_reviewer_imports_only_its_own_units_rows(app, demo):
    reviewer = signed_in(app, "rsj-rev")
    foreign = upload(
        reviewer, "mixed.csv", "id,unit,question,answer\nT-RSJ-1,rsj,问一,答一\nT-GAJ-1,gaj,问二,答二\n"
    )
    assert foreign.status_code == 400
    assert "第 3 行：unit &#39;gaj&#39; is not yours (rsj)" in text(foreign)
    with demo.db.session() as session:
        assert session.scalar(select(KbEntry.id).where(KbEntry.public_id.like("T-%"))) is None

    own = upload(reviewer, "own.csv", "id,unit,question,answer\nT-RSJ-1,rsj,问一,答一\n")
    assert own.status_code == 302
    assert [(r.unit_code, r.actor, r.detail["added"]) for r in audit_rows(demo, "import")] == [
        ("rsj", "rsj-rev", 1)
    ]
    wrong_kind = upload(reviewer, "entries.xlsx", b"PK\x03\x04")
    assert wrong_kind.status_code == 400 and "只能导入 .jsonl 或 .csv 文件" in text(wrong_kind)
    assert upload(signed_in(app, "rsj-ed"), "own.csv", "id,unit,question,answer\n").status_code == 403


def test_export_gives_a_unit_its_entries_and_the_office_all_in_the_import_formats(app, demo):
    with demo.db.session() as session:
        everything = {e.public_id: e.unit_code for e in session.scalars(select(KbEntry))}
    mine = signed_in(app, "rsj-ed").get("/editor/export?format=jsonl")
    assert mine.status_code == 200 and mine.content_type.startswith("application/x-ndjson")
    assert mine.headers["Content-Disposition"] == 'attachment; filename="kb-rsj-20261123.jsonl"'
    rows, errors = parse_rows(mine.data, "kb.jsonl")
    assert not errors
    assert sorted(r["id"] for _, r in rows) == sorted(i for i, u in everything.items() if u == "rsj")

    office = signed_in(app, "wang")
    every = office.get("/editor/export?format=csv")
    assert every.content_type.startswith("text/csv") and every.data.startswith("\ufeffid,unit,".encode())
    rows, errors = parse_rows(every.data, "kb.csv")
    assert not errors and {r["id"]: r["unit"] for _, r in rows} == everything
    one = office.get("/editor/export?format=jsonl&unit=gaj")
    assert {json.loads(line)["unit"] for line in one.data.decode().splitlines()} == {"gaj"}
    # a unit's user cannot widen the export to another unit
    assert b'"unit": "gaj"' not in signed_in(app, "rsj-ed").get("/editor/export?format=jsonl&unit=gaj").data
    assert office.get("/editor/export?format=xlsx").status_code == 400


def test_an_exported_file_imports_back_unchanged(app, demo):
    reviewer = signed_in(app, "rsj-rev")
    exported = reviewer.get("/editor/export?format=csv").data
    response = upload(reviewer, "kb-rsj.csv", exported)
    assert response.status_code == 302
    assert "新增 0 条，更新 0 条，未变 9 条" in text(reviewer.get("/editor/import"))


# ---------------------------------------------------------------- the audit log


def test_the_audit_log_shows_a_unit_its_own_rows_and_the_office_everyones(app, demo):
    admin = signed_in(app, "root")
    upload(admin, "two.jsonl", jsonl(entry("T-RSJ-1", "rsj", "问一"), entry("T-GAJ-1", "gaj", "问二")))
    ask(signed_in(app, "wang"), entry="LS-GAJ-0001", comment="户籍窗口电话变了")

    rsj = text(signed_in(app, "rsj-ed").get("/editor/audit"))
    assert rsj.count("two.jsonl") == 1 and "LS-GAJ-0001" not in rsj
    gaj = text(signed_in(app, "gaj-rev").get("/editor/audit?unit=rsj"))  # the unit filter cannot widen it
    assert "LS-GAJ-0001" in gaj and "T-RSJ-1" not in gaj

    office = signed_in(app, "wang")
    everyone = text(office.get("/editor/audit"))
    assert "LS-GAJ-0001" in everyone and everyone.count("two.jsonl") == 2
    assert everyone.index("LS-GAJ-0001") < everyone.index("two.jsonl")  # newest first
    by_actor = text(office.get("/editor/audit?actor=wang"))
    assert "LS-GAJ-0001" in by_actor and "two.jsonl" not in by_actor
    by_unit = text(office.get("/editor/audit?unit=gaj"))
    assert by_unit.count("two.jsonl") == 1 and "LS-GAJ-0001" in by_unit
    assert "two.jsonl" not in text(office.get("/editor/audit?entry=LS-GAJ-0001"))


def test_the_audit_log_pages_back_through_older_rows(app, demo):
    from channels.staff.tools import AUDIT_PAGE
    from kb import audit

    admin_user = StaffUser(username="root", role="admin", unit_code=None)
    with demo.db.session() as session:
        for i in range(AUDIT_PAGE + 5):
            audit.record(session, admin_user, "confirm", demo.clock(), unit="rsj", entry=f"T-{i:03d}")
        session.commit()
    office = signed_in(app, "wang")
    first = text(office.get("/editor/audit"))
    assert "T-104" in first and "T-004" not in first
    older = re.search(r'href="([^"]+)">更早的记录', first).group(1).replace("&amp;", "&")
    second = text(office.get(older))
    assert "T-004" in second and "T-000" in second and "T-104" not in second and "更早的记录" not in second


# ---------------------------------------------------------------- staff accounts


def add_account(client, **fields):
    form = {"username": "li", "role": "unit_editor", "unit": "gaj", "password": "a long first password"}
    form |= {"password_again": form["password"]} | fields
    return client.post("/editor/users", data=form | {"csrf_token": token_of(client, "/editor/users")})


def test_an_administrator_adds_and_deactivates_an_account(app, demo):
    admin = signed_in(app, "root")
    listing = text(admin.get("/editor/users"))
    assert "rsj-rev" in listing and "从未登录" not in listing.split("root", 1)[1].split("</tr>", 1)[0]

    added = add_account(admin)
    assert added.status_code == 302
    page = text(admin.get("/editor/users"))
    assert "已新建账号 li（单位编辑）" in page and "a long first password" not in page

    li = app.test_client()
    token = CSRF.search(text(li.get("/office/login"))).group(1)
    form = {"username": "li", "password": "a long first password", "csrf_token": token}
    assert li.post("/office/login", data=form).status_code == 302
    assert li.get("/editor/questions").status_code == 200

    with demo.db.session() as session:
        li_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "li"))
    off = admin.post(f"/editor/users/{li_id}/active", data={"active": "0", "csrf_token": token_of(admin)})
    assert off.status_code == 302 and "账号 li 已停用" in text(admin.get("/editor/users"))
    # the session already open is out at once, and the password no longer signs in
    assert li.get("/editor/questions").status_code == 302
    token = CSRF.search(text(li.get("/office/login"))).group(1)
    assert li.post("/office/login", data=form | {"csrf_token": token}).status_code == 401

    back = admin.post(f"/editor/users/{li_id}/active", data={"active": "1", "csrf_token": token_of(admin)})
    assert back.status_code == 302
    assert [(r.action, r.unit_code, r.detail["user"]) for r in audit_rows(demo, "user_add")] == [
        ("user_add", "gaj", "li")
    ]
    assert len(audit_rows(demo, "user_deactivate")) == 1 and len(audit_rows(demo, "user_reactivate")) == 1
    assert "新增账号" in text(signed_in(app, "gaj-rev").get("/editor/audit"))


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"unit": ""}, 400, "单位编辑和单位审核员须选择所属单位"),
        ({"role": "office"}, 400, "不属于某个单位"),
        ({"role": "chief"}, 400, "请选择角色"),
        ({"password": "short", "password_again": "short"}, 400, "初始密码至少 10 个字符"),
        ({"password_again": "another long password"}, 400, "两次输入的密码不一致"),
        ({"username": "wang"}, 409, "用户名 wang 已被使用"),
    ],
)
def test_an_account_that_cannot_be_made_is_refused_with_the_reason(app, demo, fields, status, message):
    admin = signed_in(app, "root")
    response = add_account(admin, **fields)
    page = text(response)
    assert response.status_code == status and message in page
    assert "a long first password" not in page and "short" not in re.findall(r'value="([^"]*)"', page)
    with demo.db.session() as session:
        assert session.scalar(select(StaffUser.id).where(StaffUser.username == "li")) is None


def test_an_administrator_cannot_lock_out_their_own_account(app, demo):
    admin = signed_in(app, "root")
    with demo.db.session() as session:
        root_id = session.scalar(select(StaffUser.id).where(StaffUser.username == "root"))
    response = admin.post(
        f"/editor/users/{root_id}/active", data={"active": "0", "csrf_token": token_of(admin)}
    )
    assert response.status_code == 409 and "不能停用自己" in text(response)
    assert admin.get("/editor/users").status_code == 200


def test_an_import_may_be_bigger_than_other_requests_up_to_its_own_limit(app, demo):
    from app import MAX_BODY
    from channels.staff.tools import MAX_IMPORT

    admin = signed_in(app, "root")
    answer = "办理地点：县政务服务中心一楼综合窗口。" * 40
    big = jsonl(*(entry(f"T-RSJ-{i:03d}", "rsj", f"第{i}个测试问题怎么办？", answer) for i in range(150)))
    assert MAX_BODY < len(big.encode()) < MAX_IMPORT
    assert upload(admin, "big.jsonl", big).status_code == 302
    # a raw body: the test client would spool a file this big to a temporary file it never closes
    too_big = admin.post(
        "/editor/import",
        data=b"x" * (MAX_IMPORT + 1),
        content_type="multipart/form-data; boundary=b",
        headers={"X-CSRF-Token": token_of(admin)},
    )
    assert too_big.status_code == 413 and "一次最多导入 8 MB" in text(too_big)


# ---------------------------------------------------------------- in a browser


def test_in_chromium_the_office_asks_by_the_labels_and_the_unit_answers(app):
    from playwright.sync_api import expect

    from tests.browser import chromium, served

    with chromium() as browser, served(app) as base:

        def sign_in(username: str):
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            page.goto(f"{base}/office/login?next=/editor/questions")
            page.get_by_label("用户名").fill(username)
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="知识提问")).to_be_visible()
            return page

        office = sign_in("wang")
        office.goto(f"{base}/editor/questions/new?entry=LS-RSJ-0003")
        office.get_by_label("过期").check()
        office.get_by_label("说明").fill("补卡地点已搬到新政务中心")
        office.get_by_role("button", name="提交提问").click()
        expect(office.get_by_role("status")).to_contain_text("请在 2026-11-26 前答复")

        unit = sign_in("rsj-ed")
        unit.get_by_role("link", name="答复").first.click()
        unit.get_by_label("做了哪些修改").fill("已改为新政务中心的地址和电话")
        unit.get_by_role("button", name="提交答复").click()
        expect(unit.get_by_role("status")).to_contain_text("答复已提交")
        expect(unit.locator(".tools-facts")).to_contain_text("已改为新政务中心的地址和电话")


def test_a_huge_post_from_someone_not_signed_in_is_refused_not_a_crash(app):
    response = app.test_client().post("/editor/users", data={"x": "y" * 300_000})
    assert response.status_code == 413
