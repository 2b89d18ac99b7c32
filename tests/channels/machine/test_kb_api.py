"""The knowledge API at ``/api/v1/kb/``: every role, every refusal with its reason, the editors' whole
workflow over HTTP, import and export, knowledge questions, previews, and an OpenAPI description that
matches the routes and the answers."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from intake.core.staff import StaffUser, add_user
from intake.core.staff_tokens import issue_token, revoke_tokens
from intake.demo import DEMO_ACTOR
from kb.models import KbEntry

API = "/api/v1/kb"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# who: (role, unit); jjdd is the county's traffic police (交警大队), gjj the housing fund
PEOPLE = {
    "admin": ("admin", None),
    "office": ("office", None),
    "operator": ("operator", None),
    "jjdd_editor": ("unit_editor", "jjdd"),
    "jjdd_reviewer": ("unit_reviewer", "jjdd"),
    "gjj_editor": ("unit_editor", "gjj"),
    "gjj_reviewer": ("unit_reviewer", "gjj"),
    "gone": ("unit_reviewer", "jjdd"),  # deactivated after its token was issued
}

PLATE = {
    "unit": "jjdd",
    "question": "电动自行车怎么上牌照？",
    "alt_questions": ["电瓶车在哪里上牌", "电动车挂牌要带什么"],
    "keywords": ["电动自行车", "上牌"],
    "answer": "带购车发票、合格证和身份证到县交警大队车管所办理，当场发牌，不收费。",
    "kind": "service",
    "service": {"office": "龙胜县交警大队车管所", "hours": "工作日8:00-12:00，15:00-18:00"},
}


@pytest.fixture
def tokens(demo) -> dict[str, str]:
    """A staff user and an API token for each of ``PEOPLE``; ``gone``'s user is then deactivated."""
    issued = {}
    with demo.db.session() as session:
        for name, (role, unit) in PEOPLE.items():
            add_user(session, name, PASSWORD, role, demo.clock(), unit_code=unit)
            issued[name] = issue_token(session, name, demo.clock(), label="test")
        session.scalar(select(StaffUser).where(StaffUser.username == "gone")).active = False
        session.commit()
    return issued


@pytest.fixture
def call(client, tokens):
    """``call(who, method, path, …)``: a request with ``who``'s token (``None``: none; a string that is
    not one of ``PEOPLE``: sent as the token itself)."""

    def send(who, method, path, headers=None, **kwargs):
        headers = dict(headers or {})
        if who is not None:
            headers["Authorization"] = f"Bearer {tokens.get(who, who)}"
        return client.open(API + path, method=method, headers=headers, **kwargs)

    return send


def create(call, who="jjdd_editor", **fields):
    response = call(who, "POST", "/entries", json={**PLATE, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def latest(call, public_id):
    return call("admin", "GET", f"/entries/{public_id}").get_json()["latest_version"]


def submitted(call, **fields):
    public_id = create(call, **fields)
    assert call("jjdd_editor", "POST", f"/entries/{public_id}/submit").status_code == 200
    return public_id


def published(call, **fields):
    public_id = submitted(call, **fields)
    assert call("jjdd_reviewer", "POST", f"/entries/{public_id}/publish").status_code == 200
    return public_id


def refused(response, status, error, *phrases):
    """The response is the JSON refusal ``status``/``error`` whose message says each of ``phrases``."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["error"] == error
    assert isinstance(body["problems"], list)
    for phrase in phrases:
        assert phrase in body["message"], body["message"]
    return body


# ---------------------------------------------------------------- the whole flow


def test_an_entry_written_submitted_and_published_over_the_api_answers_citizens(call, client):
    paraphrase = "电瓶车上牌去哪里办"

    def found():
        results = client.get(f"{API}/search", query_string={"q": paraphrase}).get_json()["results"]
        return [r["id"] for r in results]

    created = call("jjdd_editor", "POST", "/entries", json={**PLATE, "note": "新业务"})
    assert created.status_code == 201
    entry = created.get_json()
    public_id = entry["id"]
    assert public_id.startswith("JJDD-")
    assert created.headers["Location"] == f"{API}/entries/{public_id}"
    assert created.headers["ETag"] == '"1"'
    assert (entry["status"], entry["latest_version"], entry["live"]) == ("draft", 1, None)
    assert entry["content"]["service"]["office"] == "龙胜县交警大队车管所"
    assert public_id not in found()  # a draft answers nobody

    assert call("jjdd_editor", "POST", f"/entries/{public_id}/submit").get_json()["status"] == "submitted"
    assert public_id not in found()
    done = call("jjdd_reviewer", "POST", f"/entries/{public_id}/publish")
    assert done.status_code == 200
    body = done.get_json()
    assert (body["status"], body["live_version"], body["reviewed_on"]) == ("published", 1, "2026-11-23")
    assert body["live"]["question"] == PLATE["question"]
    assert found()[0] == public_id


def test_a_change_to_a_published_entry_waits_beside_the_live_text_until_published(call, client):
    public_id = published(call)
    entry = call("jjdd_editor", "GET", f"/entries/{public_id}")
    content = entry.get_json()["content"]
    changed = {**content, "answer": "带购车发票、合格证和身份证到车管所办理，可预约上门上牌。"}
    saved = call(
        "jjdd_editor",
        "PUT",
        f"/entries/{public_id}",
        json=changed,
        headers={"If-Match": entry.headers["ETag"]},
    )
    body = saved.get_json()
    assert saved.status_code == 200 and saved.headers["ETag"] == '"2"'
    assert (body["status"], body["pending_status"], body["working_status"]) == ("published", "draft", "draft")
    assert body["content"]["answer"].endswith("可预约上门上牌。")
    assert body["live"]["answer"] == PLATE["answer"]  # citizens still get the published text
    call("jjdd_editor", "POST", f"/entries/{public_id}/submit")
    after = call("jjdd_reviewer", "POST", f"/entries/{public_id}/publish").get_json()
    assert (after["live_version"], after["pending_status"]) == (2, None)
    assert after["live"]["answer"].endswith("可预约上门上牌。")


def test_versions_diff_and_restore(call):
    public_id = create(call)
    for n, answer in enumerate(["到车管所办理，需要预约。", "到车管所办理，当场办结。"], start=1):
        response = call(
            "jjdd_editor", "PUT", f"/entries/{public_id}", json={**PLATE, "answer": answer, "base_version": n}
        )
        assert response.status_code == 200
    versions = call("jjdd_editor", "GET", f"/entries/{public_id}/versions").get_json()["versions"]
    assert [(v["number"], v["author"], v["changed"]) for v in versions] == [
        (1, "jjdd_editor", ["created"]),
        (2, "jjdd_editor", ["answer"]),
        (3, "jjdd_editor", ["answer"]),
    ]
    diff = call("gjj_editor", "GET", f"/entries/{public_id}/diff").get_json()  # readers compare any entry
    assert (diff["from"], diff["to"]) == (2, 3)
    [change] = diff["changes"]
    assert (change["field"], change["label"]) == ("answer", "答复内容")
    assert change["segments"] == [
        {"op": "same", "text": "到车管所办理，"},
        {"op": "removed", "text": "需要预约"},
        {"op": "added", "text": "当场办结"},
        {"op": "same", "text": "。"},
    ]
    everything = call(
        "admin", "GET", f"/entries/{public_id}/diff", query_string={"from": 0, "to": 1}
    ).get_json()
    assert {c["field"] for c in everything["changes"]} >= {"question", "answer", "service.office"}
    first = call("admin", "GET", f"/entries/{public_id}/versions/1").get_json()
    assert first["content"]["answer"] == PLATE["answer"]

    restored = call("admin", "POST", f"/entries/{public_id}/restore", json={"version": 1})
    body = restored.get_json()
    assert restored.status_code == 200
    assert (body["latest_version"], body["status"], body["content"]["answer"]) == (
        4,
        "draft",
        PLATE["answer"],
    )
    assert call("admin", "GET", f"/entries/{public_id}/versions/4").get_json()["note"] == "恢复第 1 版"


def test_send_back_archive_and_the_entry_list(call):
    public_id = submitted(call)
    sent = call("jjdd_reviewer", "POST", f"/entries/{public_id}/send-back", json={"reason": "请写明收费标准"})
    assert sent.get_json()["status"] == "draft"
    drafts = call(
        "gjj_editor", "GET", "/entries", query_string={"unit": "jjdd", "status": "draft"}
    ).get_json()
    assert [e["id"] for e in drafts["entries"]] == [public_id]
    assert drafts["entries"][0]["url"] == f"{API}/entries/{public_id}"
    found = call("office", "GET", "/entries", query_string={"q": "上牌照"}).get_json()["entries"]
    assert [e["id"] for e in found] == [public_id]
    page = call("office", "GET", "/entries", query_string={"limit": 5, "offset": 5}).get_json()
    assert (page["limit"], page["offset"], len(page["entries"])) == (5, 5, 5)
    archived = call("jjdd_editor", "POST", f"/entries/{public_id}/archive", json={"reason": "业务取消"})
    assert archived.get_json()["status"] == "archived"


def test_entries_past_their_review_date_are_listed_for_their_unit_until_confirmed(call, demo):
    public_id = published(call, review_every_days=30)
    assert call("jjdd_reviewer", "GET", "/review-due").get_json()["entries"] == []
    demo.clock.now += timedelta(days=31)
    due = call("jjdd_reviewer", "GET", "/review-due").get_json()
    assert due["unit"] == "jjdd" and [e["id"] for e in due["entries"]] == [public_id]
    assert due["entries"][0]["review_due"] == "2026-12-23"
    assert call("gjj_reviewer", "GET", "/review-due").get_json()["entries"] == []  # their own unit's
    assert [e["id"] for e in call("admin", "GET", "/review-due").get_json()["entries"]] == [public_id]
    entry = call("jjdd_reviewer", "GET", f"/entries/{public_id}").get_json()
    assert entry["review_overdue"] is True
    refused(call("jjdd_editor", "POST", f"/entries/{public_id}/confirm"), 403, "forbidden", "确认复核")
    assert call("jjdd_reviewer", "POST", f"/entries/{public_id}/confirm").status_code == 200
    assert call("jjdd_reviewer", "GET", "/review-due").get_json()["entries"] == []


# ---------------------------------------------------------------- roles


# What each person may do to a jjdd entry; 403 says the role or the unit may not, 401 no valid credentials.
ROLE_TABLE = [
    # who,            read, create, save, publish, import
    ("admin",          200,  201,   200,  200,     200),
    ("office",         200,  403,   403,  403,     403),
    ("operator",       200,  403,   403,  403,     403),
    ("jjdd_editor",    200,  201,   200,  403,     403),
    ("jjdd_reviewer",  200,  201,   200,  200,     200),
    ("gjj_editor",     200,  403,   403,  403,     403),
    ("gjj_reviewer",   200,  403,   403,  403,     400),  # may import, but only gjj's entries
    (None,             401,  401,   401,  401,     401),  # no credentials
    ("hlk_not-a-token", 401, 401,   401,  401,     401),
    ("gone",           401,  401,   401,  401,     401),  # a deactivated user's token
]  # fmt: skip


@pytest.mark.parametrize(("who", "read", "create_", "save", "publish", "import_"), ROLE_TABLE)
def test_who_may_do_what(call, who, read, create_, save, publish, import_):
    public_id = submitted(call)
    assert call(who, "GET", f"/entries/{public_id}").status_code == read
    assert call(who, "POST", "/entries", json=PLATE).status_code == create_
    row = json.dumps({**PLATE, "id": "JJDD-IMPORT-1"}, ensure_ascii=False)
    imported = call(who, "POST", "/import", data=row, content_type="application/x-ndjson")
    assert imported.status_code == import_, imported.get_json()
    # publish before the save: a save turns the submitted text back into a draft
    assert call(who, "POST", f"/entries/{public_id}/publish").status_code == publish
    changed = {**PLATE, "answer": "到车管所办理。", "base_version": latest(call, public_id)}
    assert call(who, "PUT", f"/entries/{public_id}", json=changed).status_code == save


@pytest.mark.parametrize(
    ("who", "action", "status", "phrase"),
    [
        ("jjdd_editor", "publish", 403, "只有本单位的审核员或管理员可以发布"),
        ("gjj_reviewer", "publish", 403, "只有本单位的审核员或管理员可以发布"),
        ("gjj_editor", "submit", 403, "只能提交本单位的知识条目"),
        ("gjj_reviewer", "send-back", 403, "只有本单位的审核员或管理员可以退回"),
        ("office", "restore", 403, "只能恢复本单位的知识条目"),
        ("jjdd_editor", "submit", 409, "只有草稿可以提交审核"),  # it is submitted already
        ("jjdd_reviewer", "confirm", 409, "只有已发布的条目需要复核"),
    ],
)
def test_workflow_refusals_say_why(call, who, action, status, phrase):
    public_id = submitted(call)
    body = {"reason": "不对", "version": 1}
    refused(
        call(who, "POST", f"/entries/{public_id}/{action}", json=body),
        status,
        {403: "forbidden", 409: "conflict"}[status],
        phrase,
    )


def test_an_editor_cannot_change_another_units_entry_nor_move_an_entry_to_another_unit(call):
    public_id = create(call)
    base = {"base_version": 1}
    refused(
        call("gjj_editor", "PUT", f"/entries/{public_id}", json={**PLATE, **base}),
        403,
        "forbidden",
        "只能修改本单位的知识条目",
    )
    moved = call("jjdd_editor", "PUT", f"/entries/{public_id}", json={**PLATE, **base, "unit": "gjj"})
    refused(moved, 403, "forbidden", "只有管理员可以把条目转给其他单位")
    refused(
        call("jjdd_editor", "POST", "/entries", json={**PLATE, "unit": "gjj"}),
        403,
        "forbidden",
        "只能为本单位新建",
    )


# ---------------------------------------------------------------- refusals


def test_without_credentials_the_answer_is_401_with_a_bearer_challenge(call, client):
    bare = call(None, "GET", "/entries")
    refused(bare, 401, "unauthorized", "未登录", "Bearer")
    assert bare.headers["WWW-Authenticate"] == 'Bearer realm="hotline-kb"'
    wrong = call("hlk_forged", "GET", "/entries")
    refused(wrong, 401, "unauthorized", "访问令牌无效")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    basic = client.get(f"{API}/entries", headers={"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="})
    refused(basic, 401, "unauthorized", "Bearer")
    refused(call("gone", "GET", "/entries"), 401, "unauthorized", "已停用")


def test_a_revoked_token_stops_working_at_once(call, demo, tokens):
    assert call("jjdd_editor", "GET", "/entries").status_code == 200
    with demo.db.session() as session:
        assert revoke_tokens(session, "jjdd_editor") == 1
        session.commit()
    refused(call("jjdd_editor", "GET", "/entries"), 401, "unauthorized", "已被撤销")


def test_a_save_must_say_which_version_it_started_from(call):
    public_id = create(call)
    refused(
        call("jjdd_editor", "PUT", f"/entries/{public_id}", json=PLATE),
        428,
        "precondition_required",
        "If-Match",
    )
    odd = call("jjdd_editor", "PUT", f"/entries/{public_id}", json=PLATE, headers={"If-Match": "*"})
    refused(odd, 400, "invalid", "If-Match")
    # a digit Python's isdigit() accepts but int() does not (a raw 0xB2 byte reads as "²")
    superscript = call("jjdd_editor", "PUT", f"/entries/{public_id}", json=PLATE, headers={"If-Match": "²"})
    refused(superscript, 400, "invalid", "If-Match")
    refused(call("jjdd_editor", "GET", "/entries", query_string={"limit": "²"}), 400, "invalid", "limit")
    both = call(
        "jjdd_editor",
        "PUT",
        f"/entries/{public_id}",
        json={**PLATE, "base_version": 2},
        headers={"If-Match": '"1"'},
    )
    refused(both, 400, "invalid", "不一致")


def test_a_stale_save_is_refused_with_who_changed_it(call):
    public_id = create(call)
    mine = {**PLATE, "answer": "到车管所办理，需要预约。"}
    theirs = {**PLATE, "answer": "到车管所办理，无需预约。"}
    assert (
        call(
            "jjdd_reviewer", "PUT", f"/entries/{public_id}", json=theirs, headers={"If-Match": '"1"'}
        ).status_code
        == 200
    )
    stale = call("jjdd_editor", "PUT", f"/entries/{public_id}", json=mine, headers={"If-Match": 'W/"1"'})
    refused(stale, 409, "conflict", "jjdd_reviewer", "第 2 版", "基于第 1 版", "刷新")
    entry = call("jjdd_editor", "GET", f"/entries/{public_id}").get_json()
    assert entry["content"]["answer"] == theirs["answer"]  # nothing overwritten
    # a workflow step sent with a stale If-Match is refused too
    stale_step = call("jjdd_editor", "POST", f"/entries/{public_id}/submit", headers={"If-Match": '"1"'})
    assert refused(stale_step, 409, "conflict", "第 2 版")["current_version"] == 2
    assert (
        call("jjdd_editor", "POST", f"/entries/{public_id}/submit", headers={"If-Match": '"2"'}).status_code
        == 200
    )


def test_not_found_is_json_everywhere_under_the_api(call, client):
    public_id = create(call)
    refused(call("admin", "GET", "/entries/NO-SUCH-1"), 404, "not_found", "NO-SUCH-1")
    refused(call("admin", "POST", "/entries/NO-SUCH-1/publish"), 404, "not_found", "NO-SUCH-1")
    refused(call("admin", "GET", f"/entries/{public_id}/versions/9"), 404, "not_found", "第 9 版")
    refused(
        call("admin", "GET", f"/entries/{public_id}/diff", query_string={"from": 1, "to": 7}),
        404,
        "not_found",
        "第 7 版",
    )
    refused(call("admin", "GET", "/nothing-here"), 404, "not_found", "openapi.json")
    wrong_method = call("admin", "DELETE", f"/entries/{public_id}")
    refused(wrong_method, 405, "method_not_allowed", "DELETE")
    assert "PUT" in wrong_method.headers["Allow"]
    refused(call("admin", "GET", "/entries/" + "X" * 65), 404, "not_found")
    elsewhere = client.get("/no-such-page")  # other paths' errors stay as they were
    assert elsewhere.status_code == 404 and elsewhere.mimetype == "text/html"


def test_a_duplicate_id_conflicts(call):
    public_id = create(call)
    refused(
        call("admin", "POST", "/entries", json={**PLATE, "id": public_id}),
        409,
        "conflict",
        "已被其他条目使用",
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"answer": ""}, "answer is required text"),
        ({"kind": "poem"}, "kind must be one of answer, service, notice, not 'poem'"),
        ({"kind": "notice"}, "a notice needs valid_until: the day it stops being true"),
        ({"unit": "nowhere"}, "unit 'nowhere' is not in the unit catalogue"),
        ({"valid_from": "2027-02-30"}, "valid_from is not an ISO date like 2026-12-31: '2027-02-30'"),
        ({"colour": "red"}, "unknown field colour"),
    ],
)
def test_invalid_content_is_refused_with_each_problem(call, change, problem):
    # as the administrator, who may write for any unit: only the content is judged
    response = call("admin", "POST", "/entries", json={**PLATE, **change})
    assert problem in refused(response, 400, "invalid", "内容不完整")["problems"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "phrase"),
    [
        ("{not json", "application/json", 400, "不是有效的 JSON（第 1 行第 2 列）"),
        ("[1, 2]", "application/json", 400, "JSON 对象"),
        ("", "application/json", 400, "请求体为空"),
        (json.dumps({**PLATE, "note": 7}), "application/json", 400, "note 应为不超过 500 个字符的文本"),
        ("question=x", "application/x-www-form-urlencoded", 415, "Content-Type: application/json"),
    ],
)
def test_malformed_bodies_are_refused(call, body, content_type, status, phrase):
    response = call("jjdd_editor", "POST", "/entries", data=body, content_type=content_type)
    refused(response, status, {400: "invalid", 415: "unsupported_media_type"}[status], phrase)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/entries?limit=abc", "limit must be a whole number from 1 to 200"),
        ("/entries?limit=1000", "limit must be a whole number from 1 to 200"),
        ("/entries?status=lost", "status must be one of draft, submitted, published, archived"),
        ("/entries?unit=atlantis", "unit 'atlantis' is not in the unit catalogue"),
        ("/export?format=xlsx", "format must be jsonl or csv"),
        ("/audit?limit=0", "limit must be a whole number from 1 to 500"),
    ],
)
def test_bad_query_parameters_are_refused(call, path, problem):
    assert problem in refused(call("admin", "GET", path), 400, "invalid")["problems"]


def test_bodies_over_the_limit_are_refused_before_they_are_read(call):
    huge = {**PLATE, "answer": "很长" * 200_000}
    refused(call("jjdd_editor", "POST", "/entries", json=huge), 413, "too_large", "256 KB")


# ---------------------------------------------------------------- the staff session instead of a token


def login(client, username):
    page = client.get("/office/login")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/office/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    with client.session_transaction() as session:
        return session["csrf"]  # a new one: signing in starts a new session, as the staff pages show it


def test_the_staff_session_works_and_its_writes_need_the_csrf_header(client, tokens):
    csrf = login(client, "jjdd_editor")
    assert client.get(f"{API}/entries").status_code == 200
    without = client.post(f"{API}/entries", json=PLATE)
    refused(without, 403, "forbidden", "X-CSRF-Token")
    forged = client.post(f"{API}/entries", json=PLATE, headers={"X-CSRF-Token": "guess"})
    refused(forged, 403, "forbidden", "X-CSRF-Token")
    made = client.post(f"{API}/entries", json=PLATE, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert made.get_json()["content"]["unit"] == "jjdd"


def test_a_bearer_token_needs_no_csrf_even_beside_a_session_cookie(client, call, tokens):
    login(client, "office")  # the office may not create jjdd entries; the token's user may
    assert call("jjdd_editor", "POST", "/entries", json=PLATE).status_code == 201


# ---------------------------------------------------------------- import, export, audit


def test_export_and_import_round_trip(call, demo):
    exported = call("office", "GET", "/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in exported.headers["Content-Disposition"]
    lines = exported.get_data(as_text=True).splitlines()
    with demo.db.session() as session:
        assert len(lines) == len(session.scalars(select(KbEntry)).all()) > 100

    again = call("admin", "POST", "/import", data=exported.get_data(), content_type="application/x-ndjson")
    assert again.get_json() == {"added": 0, "updated": 0, "unchanged": len(lines)}

    as_csv = call("admin", "GET", "/export", query_string={"format": "csv", "unit": "rsj"})
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    upload = {"file": (io.BytesIO(as_csv.get_data()), "rsj.csv")}
    rsj = call("admin", "POST", "/import", data=upload, content_type="multipart/form-data").get_json()
    assert rsj == {"added": 0, "updated": 0, "unchanged": 9}

    records = [json.loads(line) for line in lines]
    changed = next(r for r in records if r["unit"] == "jjdd") | {"answer": "新的答复。"}
    new = {**PLATE, "id": "JJDD-NEW-1", "kind": "answer", "service": {}}
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in (changed, new))
    report = call("jjdd_reviewer", "POST", "/import", data=body.encode(), content_type="application/x-ndjson")
    assert report.get_json() == {"added": 1, "updated": 1, "unchanged": 0}
    live = call("jjdd_reviewer", "GET", f"/entries/{changed['id']}").get_json()
    assert (live["status"], live["live"]["answer"]) == ("published", "新的答复。")
    audit = call("jjdd_reviewer", "GET", "/audit").get_json()["entries"]
    assert (audit[0]["action"], audit[0]["actor"], audit[0]["detail"]["added"]) == (
        "import",
        "jjdd_reviewer",
        1,
    )


def test_an_import_with_one_bad_row_imports_nothing_and_names_every_line(call):
    good = {**PLATE, "id": "JJDD-GOOD-1"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{broken",
        json.dumps({**PLATE, "id": "JJDD-BAD", "answer": ""}, ensure_ascii=False),
    ]
    response = call(
        "admin", "POST", "/import", data="\n".join(lines).encode(), content_type="application/x-ndjson"
    )
    body = refused(response, 400, "invalid", "没有导入任何条目")
    assert body["problems"] == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 3: answer is required text",
    ]
    refused(call("admin", "GET", "/entries/JJDD-GOOD-1"), 404, "not_found")


def test_a_unit_reviewer_imports_only_their_own_units_entries(call):
    theirs = json.dumps({**PLATE, "id": "GJJ-X-1"}, ensure_ascii=False).encode()
    body = refused(
        call("gjj_reviewer", "POST", "/import", data=theirs, content_type="application/x-ndjson"),
        400,
        "invalid",
    )
    assert body["problems"] == ["line 1: unit 'jjdd' is not yours (gjj)"]
    refused(
        call("jjdd_editor", "POST", "/import", data=theirs, content_type="application/x-ndjson"),
        403,
        "forbidden",
        "导入即发布",
    )
    refused(
        call("admin", "POST", "/import", data=b"  ", content_type="text/csv"), 400, "invalid", "导入内容为空"
    )
    refused(
        call("admin", "POST", "/import", data={}, content_type="multipart/form-data"), 400, "invalid", "file"
    )


def test_an_import_may_be_larger_than_other_requests_but_not_unbounded(call):
    rows = [json.dumps({**PLATE, "id": f"JJDD-BULK-{n}"}, ensure_ascii=False) for n in range(1200)]
    body = "\n".join(rows).encode()
    assert 256 * 1024 < len(body) < 8 * 1024 * 1024
    assert (
        call("admin", "POST", "/import", data=body, content_type="application/x-ndjson").get_json()["added"]
        == 1200
    )
    refused(
        call("admin", "POST", "/import", data=body * 20, content_type="application/x-ndjson"),
        413,
        "too_large",
        "8192 KB",
    )


def test_the_audit_log_shows_who_did_what_and_a_unit_sees_only_its_own(call):
    public_id = published(call)
    create(call, "gjj_editor", unit="gjj")
    rows = call("admin", "GET", "/audit", query_string={"entry": public_id}).get_json()["entries"]
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("publish", "jjdd_reviewer"),
        ("submit", "jjdd_editor"),
        ("create", "jjdd_editor"),
    ]
    mine = call("jjdd_editor", "GET", "/audit").get_json()
    assert mine["unit"] == "jjdd" and {r["unit"] for r in mine["entries"]} == {"jjdd"}
    refused(call("jjdd_editor", "GET", "/audit", query_string={"unit": "gjj"}), 403, "forbidden", "本单位")
    everyone = call("office", "GET", "/audit").get_json()["entries"]
    assert {r["unit"] for r in everyone if r["actor"] != DEMO_ACTOR} == {"jjdd", "gjj"}


# ---------------------------------------------------------------- knowledge questions and previews


def test_knowledge_questions_are_asked_by_the_office_and_answered_by_the_unit(call, demo):
    public_id = published(call)
    asked = call(
        "operator",
        "POST",
        "/questions",
        json={"kind": "outdated", "entry": public_id, "comment": "已改为网上预约"},
    )
    question = asked.get_json()
    assert asked.status_code == 201 and asked.headers["Location"] == f"{API}/questions/{question['id']}"
    assert (question["unit"], question["due"], question["status"]) == ("jjdd", "2026-11-26", "open")
    refused(
        call("jjdd_editor", "POST", "/questions", json={"kind": "wrong", "entry": public_id, "comment": "x"}),
        403,
        "forbidden",
        "只有话务员",
    )
    refused(
        call("office", "POST", "/questions", json={"kind": "odd", "entry": public_id, "comment": "x"}),
        400,
        "invalid",
        "提问类型",
    )
    refused(
        call("office", "POST", "/questions", json={"kind": "wrong", "entry": "NO-1", "comment": "x"}),
        404,
        "not_found",
        "NO-1",
    )
    refused(call("office", "POST", "/questions", json={"kind": "wrong", "why": "x"}), 400, "invalid", "why")

    assert [q["id"] for q in call("jjdd_editor", "GET", "/questions").get_json()["questions"]] == [
        question["id"]
    ]
    assert call("gjj_editor", "GET", "/questions").get_json()["questions"] == []
    refused(call("gjj_editor", "GET", f"/questions/{question['id']}"), 403, "forbidden", "不是向本单位提出的")
    refused(call("gjj_editor", "GET", "/questions", query_string={"unit": "jjdd"}), 403, "forbidden")
    refused(
        call("gjj_editor", "POST", f"/questions/{question['id']}/answer", json={"text": "改了"}),
        403,
        "forbidden",
        "所属单位",
    )
    refused(call("admin", "GET", "/questions/999999"), 404, "not_found", "999999")

    demo.clock.now += timedelta(days=4)
    overdue = call("office", "GET", "/questions/overdue").get_json()["questions"]
    assert [(q["id"], q["overdue"]) for q in overdue] == [(question["id"], True)]
    answer = {"text": "已更新为网上预约", "entry": public_id}
    answered = call("jjdd_editor", "POST", f"/questions/{question['id']}/answer", json=answer).get_json()
    assert (answered["status"], answered["answered_by"], answered["changed_entry"]) == (
        "answered",
        "jjdd_editor",
        public_id,
    )
    refused(
        call("jjdd_reviewer", "POST", f"/questions/{question['id']}/answer", json=answer),
        409,
        "conflict",
        "不能重复答复",
    )
    assert call("office", "GET", "/questions/overdue").get_json()["questions"] == []
    assert (
        call("office", "GET", "/questions", query_string={"status": "answered"}).get_json()["questions"][0][
            "id"
        ]
        == question["id"]
    )


def test_a_preview_shows_how_test_questions_would_be_answered_with_the_draft(call):
    response = call(
        "jjdd_editor",
        "POST",
        "/preview",
        json={"draft": PLATE, "questions": ["电瓶车上牌去哪里办", "社保卡丢了咋办"]},
    )
    assert response.status_code == 200
    plate, card = response.get_json()["rows"]
    assert (plate["now"]["kind"], plate["with_draft"]["kind"], plate["changed"]) == (None, "answer", True)
    assert plate["with_draft"]["hits"][0]["draft"] is True
    assert plate["with_draft"]["text"].startswith("直接回答：电动自行车怎么上牌照？")
    assert card["changed"] is False and card["now"]["hits"][0]["id"] == "LS-RSJ-0003"

    refused(
        call("jjdd_editor", "POST", "/preview", json={"draft": {**PLATE, "answer": ""}, "questions": []}),
        400,
        "invalid",
        "内容不完整",
    )
    refused(
        call("jjdd_editor", "POST", "/preview", json={"draft": PLATE, "questions": "电瓶车"}),
        400,
        "invalid",
        "questions",
    )
    refused(
        call("jjdd_editor", "POST", "/preview", json={"draft": PLATE, "questions": ["问"] * 21}),
        400,
        "invalid",
        "最多试问20个问题",
    )


def test_an_entry_preview_uses_its_working_text_and_a_copy_is_flagged_as_a_near_duplicate(call):
    rows = call(
        "office", "POST", "/entries/LS-RSJ-0003/preview", json={"questions": ["社保卡丢了咋办"]}
    ).get_json()["rows"]
    assert rows[0]["with_draft"]["hits"][0] == {
        **rows[0]["with_draft"]["hits"][0],
        "id": "LS-RSJ-0003",
        "draft": True,
    }
    with_copy = call("office", "GET", "/entries/LS-RSJ-0003").get_json()["content"]
    created = call("admin", "POST", "/entries", json={**with_copy, "id": "RSJ-COPY-1"})
    near = created.get_json()["near_duplicates"]
    assert near[0]["id"] == "LS-RSJ-0003" and near[0]["score"] >= 0.9
    assert call("jjdd_editor", "POST", "/entries", json=PLATE).get_json()["near_duplicates"] == []


# ---------------------------------------------------------------- the OpenAPI description


@pytest.fixture
def spec(client):
    response = client.get(f"{API}/openapi.json")  # no credentials needed
    assert response.status_code == 200
    return response.get_json()


def test_the_openapi_description_is_valid_and_covers_every_route(app, spec):
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("kb_api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix(API)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert routes == described
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path == "/openapi.json":
                assert operation["security"] == []
                continue
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            if method in ("post", "put"):
                assert "400" in operation["responses"], (path, method)
    put = spec["paths"]["/entries/{public_id}"]["put"]["responses"]
    assert {"404", "409", "428"} <= set(put)


def conforms(spec, schema, body):
    """``body`` is valid against ``components.schemas[schema]`` of the description."""
    registry = Registry().with_resource("urn:kb-api", DRAFT202012.create_resource(spec))
    validator = Draft202012Validator({"$ref": f"urn:kb-api#/components/schemas/{schema}"}, registry=registry)
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, [e.message for e in errors[:5]]


def test_answers_match_the_schemas_of_the_description(call, spec):
    public_id = published(call)
    conforms(spec, "Entry", call("admin", "GET", f"/entries/{public_id}").get_json())
    conforms(spec, "EntryList", call("admin", "GET", "/entries").get_json())
    conforms(spec, "VersionList", call("admin", "GET", f"/entries/{public_id}/versions").get_json())
    conforms(spec, "VersionDetail", call("admin", "GET", f"/entries/{public_id}/versions/1").get_json())
    conforms(
        spec, "Diff", call("admin", "GET", f"/entries/{public_id}/diff", query_string={"from": 0}).get_json()
    )
    conforms(spec, "AuditList", call("admin", "GET", "/audit").get_json())
    conforms(spec, "ReviewDue", call("admin", "GET", "/review-due").get_json())
    asked = call(
        "office",
        "POST",
        "/questions",
        json={"kind": "missing", "unit": "jjdd", "topic": "电动车年检", "comment": "常有人问"},
    )
    conforms(spec, "Question", asked.get_json())
    conforms(spec, "QuestionList", call("admin", "GET", "/questions").get_json())
    conforms(
        spec,
        "PreviewResult",
        call("admin", "POST", "/preview", json={"draft": PLATE, "questions": ["电瓶车上牌"]}).get_json(),
    )
    conforms(spec, "Error", call(None, "GET", "/entries").get_json())
    conforms(spec, "Error", call("jjdd_editor", "PUT", f"/entries/{public_id}", json=PLATE).get_json())
    conforms(
        spec,
        "EntryContent",
        json.loads(call("admin", "GET", "/export").get_data(as_text=True).splitlines()[0]),
    )


def test_json_nested_too_deep_is_refused_not_a_crash(call):
    deep = "[" * 100_000 + "]" * 100_000
    response = call("jjdd_editor", "POST", "/entries", data=deep, content_type="application/json")
    refused(response, 400, "invalid", "嵌套过深")
