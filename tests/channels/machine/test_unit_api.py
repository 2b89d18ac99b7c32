"""The units' API under /api/v1/unit/: every endpoint, and every refusal with a clear message.

The deployment runs the longsheng pack (003): complaints in 10 working days, a return within 1
working day of signing (003 第十二条(三)), extensions of at most the original limit.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app import create_app
from intake.core.messages import Message
from routing.handoff import issue_token, unit_for_token
from routing.unit_cli import unit_group
from tests.conftest import load_demo_into
from tests.routing.lifecycle_world import PHONE, REPLY, RETURN, make_world
from tests.routing.test_key_items import REPORTS


@pytest.fixture
def world(settings, clock):
    w = make_world(settings, clock, "longsheng")
    yield w
    w.hotline.db.dispose()


@pytest.fixture
def api(world):
    return create_app({"hotline": world.hotline, "TESTING": True}).test_client()


def token_for(world, unit: str) -> str:
    with world.hotline.db.session() as session:
        token = issue_token(session, unit, world.clock())
        session.commit()
        return token


@pytest.fixture
def cgj(world):
    return {"Authorization": f"Bearer {token_for(world, 'cgj')}"}


@pytest.fixture
def power(world):
    return {"Authorization": f"Bearer {token_for(world, 'power')}"}


# ---------------------------------------------------------------- who is asking


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "缺少访问令牌"),
        ({"Authorization": "Basic Y2dqOnNlY3JldA=="}, "缺少访问令牌"),
        ({"Authorization": "Bearer "}, "缺少访问令牌"),
        ({"Authorization": "Bearer hlu_not-a-real-token"}, "访问令牌无效"),
        ({"Authorization": "Bearer 12345"}, "访问令牌无效"),
    ],
)
def test_without_a_valid_token_nothing_is_shown(api, world, headers, message):
    number = world.register()
    for method, path in [("get", "/api/v1/unit/tickets"), ("get", f"/api/v1/unit/tickets/{number}"),
                         ("post", f"/api/v1/unit/tickets/{number}/sign")]:  # fmt: skip
        response = getattr(api, method)(path, headers=headers, json={})
        assert response.status_code == 401 and message in response.get_json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert world.ticket(number).status == "dispatched"


def test_a_replaced_token_stops_working(api, world, cgj):
    token_for(world, "cgj")
    response = api.get("/api/v1/unit/tickets", headers=cgj)
    assert response.status_code == 401 and "已被更换" in response.get_json()["error"]


def test_another_units_ticket_reads_exactly_like_one_that_does_not_exist(api, world, cgj, power):
    theirs = world.register(unit="power")
    assert api.get(f"/api/v1/unit/tickets/{theirs}", headers=power).status_code == 200
    for method, path, body in [
        ("get", f"/api/v1/unit/tickets/{theirs}", None),
        ("post", f"/api/v1/unit/tickets/{theirs}/sign", {}),
        ("post", f"/api/v1/unit/tickets/{theirs}/return", RETURN),
        ("post", f"/api/v1/unit/tickets/{theirs}/extension", {"reason": "x", "until": "2026-12-08"}),
        ("post", f"/api/v1/unit/tickets/{theirs}/reply", REPLY),
    ]:
        response = getattr(api, method)(path, headers=cgj, json=body)
        unknown = getattr(api, method)(path.replace(theirs, "2611239999"), headers=cgj, json=body)
        assert response.status_code == unknown.status_code == 404, path
        assert response.get_json()["error"].replace(theirs, "N") == unknown.get_json()["error"].replace(
            "2611239999", "N"
        )
    assert world.ticket(theirs).status == "dispatched"


def test_an_unknown_ticket_is_not_found(api, cgj):
    response = api.get("/api/v1/unit/tickets/2611239999", headers=cgj)
    assert response.status_code == 404 and "2611239999" in response.get_json()["error"]


# ---------------------------------------------------------------- list and get


def test_the_list_holds_my_open_tickets_with_due_date_and_card(api, world, cgj):
    mine = world.register()
    urgent = world.register(urgent=True, category="help")
    world.register(unit="power")
    closed = world.register()
    world.act(closed, "sign")
    world.at("11-24 10:00")
    world.act(closed, "reply", reply=REPLY)
    world.act(closed, "close")
    response = api.get("/api/v1/unit/tickets", headers=cgj)
    assert response.status_code == 200
    body = response.get_json()
    assert body["unit"] == "cgj"
    assert [t["number"] for t in body["tickets"]] == [urgent, mine]  # soonest due first
    first, second = body["tickets"]
    assert first["due"] == "2026-11-24T10:00:00+08:00" and second["due"] == "2026-12-07"
    assert second["sign_by"] is None  # 003 sets no signing limit for ordinary tickets
    assert first["sign_by"] == "2026-11-23T10:30:00+08:00"  # 003 第十二条(二)7: 30 minutes
    assert second["card"] is None  # 003 names cards without thresholds
    assert second["version"] == 1 and second["status"] == "dispatched" and second["stage"]
    assert second["citizen"] == {"channel": "sms", "phone": PHONE}


def test_one_ticket_with_its_history(api, world, cgj):
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    body = api.get(f"/api/v1/unit/tickets/{number}", headers=cgj).get_json()
    assert body["number"] == number and body["status"] == "signed"
    assert [e["kind"] for e in body["events"]] == ["dispatched", "signed"]
    assert body["events"][1]["actor"] == "unit:cgj"


def test_a_confidential_ticket_shows_no_name_phone_or_address(api, world, cgj):
    text = "我叫王小红，住瓢里街18号3栋，电话13812345678，隔壁装修噪音，请为我保密"
    number = world.register(text=text, location="瓢里街18号3栋", confidential=True)
    for body in (api.get(f"/api/v1/unit/tickets/{number}", headers=cgj).get_json(),
                 api.get("/api/v1/unit/tickets", headers=cgj).get_json()["tickets"][0]):  # fmt: skip
        text = str(body)
        assert body["citizen"] is None and body["confidential"] is True
        for leaked in ("王小红", "13812345678", PHONE, "18号", "3栋"):
            assert leaked not in text
        assert "装修噪音" in body["text"]


# ---------------------------------------------------------------- sign, return, extend, reply


def test_sign(api, world, cgj):
    number = world.register()
    world.at("11-23 10:20")
    response = api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["event"]["kind"] == "signed" and body["event"]["at"] == "2026-11-23T10:20:00+08:00"
    assert body["ticket"]["status"] == "signed" and body["ticket"]["signed_at"] == "2026-11-23T10:20:00+08:00"
    again = api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    assert again.status_code == 200 and again.get_json()["event"] == body["event"]  # a retry is harmless


def test_return_with_reason_and_basis(api, world, cgj):
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    missing = api.post(
        f"/api/v1/unit/tickets/{number}/return", headers=cgj, json={"reason": RETURN["reason"]}
    )
    assert missing.status_code == 400 and missing.get_json()["field"] == "basis"
    response = api.post(f"/api/v1/unit/tickets/{number}/return", headers=cgj, json=RETURN)
    assert response.status_code == 200
    assert response.get_json()["ticket"]["status"] == "returned"
    assert response.get_json()["ticket"]["request"]["reason"] == RETURN["reason"]


def test_a_late_return_is_refused_with_the_article(api, world, cgj):
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    world.at("11-25 09:00")
    response = api.post(f"/api/v1/unit/tickets/{number}/return", headers=cgj, json=RETURN)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "late_return" and body["basis"] == "003 第十二条(三)"
    assert body["error"].startswith("已超过退回时限：依据003 第十二条(三)，承办单位应在1个工作日内申请退回")
    assert world.ticket(number).status == "signed"


def test_extension_with_reason_and_new_date(api, world, cgj):
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    url = f"/api/v1/unit/tickets/{number}/extension"
    assert api.post(url, headers=cgj, json={"reason": "需采购灯具"}).get_json()["field"] == "until"
    bad_date = api.post(url, headers=cgj, json={"reason": "需采购灯具", "until": "下个月"})
    assert bad_date.status_code == 400 and bad_date.get_json()["field"] == "until"
    too_long = api.post(url, headers=cgj, json={"reason": "需采购灯具", "until": "2026-12-22"})
    assert too_long.status_code == 409 and too_long.get_json()["code"] == "extension_too_long"
    assert "最晚可延至2026年12月21日24时" in too_long.get_json()["error"]
    response = api.post(url, headers=cgj, json={"reason": "需采购灯具", "until": "2026-12-21"})
    assert response.status_code == 200
    assert response.get_json()["ticket"]["status"] == "extension_requested"
    assert response.get_json()["ticket"]["request"]["until"] == "2026-12-21"
    again = api.post(url, headers=cgj, json={"reason": "再延", "until": "2026-12-21"})
    assert again.status_code == 409 and again.get_json()["code"] == "bad_state"


def test_reply_with_the_result(api, world, cgj):
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    world.at("11-24 16:00")
    response = api.post(f"/api/v1/unit/tickets/{number}/reply", headers=cgj, json=REPLY)
    assert response.status_code == 200
    ticket = response.get_json()["ticket"]
    assert ticket["status"] == "replied" and ticket["reply"]["handler"] == "李明"
    assert ticket["reply"]["case_number"] == REPLY["case_number"]
    # the citizen sees the result in the status look-up
    assert world.hotline.ticket_status(number, check=PHONE[-4:]).result == REPLY["result"]


@pytest.mark.parametrize(
    "field_name, change",
    [
        ("handled_at", {"handled_at": None}),
        ("unit", {"unit": ""}),
        ("handler", {"handler": None}),
        ("result", {"result": "   "}),
        ("legal_basis", {"legal_basis": None}),
        ("case_number", {"case_number": None, "case_date": None}),
        ("case_date", {"case_date": None}),
        ("handler", {"handler": 42}),
        ("handled_at", {"handled_at": "2026-13-40"}),
    ],
)
def test_a_reply_without_what_002_and_003_require_is_refused_naming_the_field(
    api, world, cgj, field_name, change
):
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    world.at("11-24 16:00")
    response = api.post(f"/api/v1/unit/tickets/{number}/reply", headers=cgj, json={**REPLY, **change})
    assert response.status_code == 400
    assert response.get_json()["field"] == field_name and field_name in response.get_json()["error"]
    assert world.ticket(number).status == "signed"


def test_a_reply_before_signing_is_refused(api, world, cgj):
    number = world.register()
    response = api.post(f"/api/v1/unit/tickets/{number}/reply", headers=cgj, json=REPLY)
    assert response.status_code == 409
    assert response.get_json()["error"] == f"工单{number}当前状态为“已转交承办单位”，不能答复。"


def test_an_action_on_an_older_dispatch_is_refused(api, world, cgj):
    number = world.register()
    response = api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={"version": 2})
    assert response.status_code == 409 and response.get_json()["code"] == "stale_version"
    assert (
        api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={"version": 0}).status_code == 200
    )


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_refused(api, world, cgj, body):
    number = world.register()
    response = api.post(
        f"/api/v1/unit/tickets/{number}/sign", headers=cgj, data=body, content_type="application/json"
    )
    assert response.status_code == 400 and response.get_json()["error"] == "请求体必须是 JSON 对象"


# ---------------------------------------------------------------- key items (000 第十四条)


@pytest.fixture
def wengyuan(settings, clock):
    w = make_world(settings, clock, "wengyuan")
    load_demo_into(w.hotline)
    yield w
    w.hotline.db.dispose()


def test_a_key_item_shows_how_many_citizens_reported_it_and_their_tickets(wengyuan):
    """Under wengyuan (000 第十四条) three citizens report one broken water main through the pipeline;
    the third asks for confidentiality. The unit sees each ticket flagged, the count and the other
    tickets' numbers, but none of the other reporters' numbers or words."""
    world = wengyuan
    texts = [text for _, text in REPORTS[:2]] + [REPORTS[2][1] + "，请为我保密"]
    outcomes = [
        world.hotline.handle(Message(channel="sms", sender=sender, text=text))
        for (sender, _), text in zip(REPORTS, texts, strict=True)
    ]
    assert [o.action for o in outcomes] == ["ticket"] * 3
    numbers = [o.ticket.number for o in outcomes]
    unit = outcomes[0].ticket.unit
    api = create_app({"hotline": world.hotline, "TESTING": True}).test_client()
    headers = {"Authorization": f"Bearer {token_for(world, unit)}"}

    listed = api.get("/api/v1/unit/tickets", headers=headers).get_json()["tickets"]
    assert {t["number"]: (t["key_item"], t["reporters"], sorted(t["linked"])) for t in listed} == {
        n: (True, 3, sorted(set(numbers) - {n})) for n in numbers
    }
    for number, (sender, _) in zip(numbers, REPORTS, strict=True):
        body = api.get(f"/api/v1/unit/tickets/{number}", headers=headers).get_json()
        assert body["key_item_basis"] == "000 第十四条"
        assert {"linked", "key_item"} <= {e["kind"] for e in body["events"]}
        others = [(s, t) for s, t in REPORTS if s != sender]
        for other_sender, other_text in others:
            assert other_sender[-11:] not in str(body) and other_text not in str(body)
    secret = api.get(f"/api/v1/unit/tickets/{numbers[2]}", headers=headers).get_json()
    assert secret["confidential"] is True and secret["citizen"] is None
    assert sorted(secret["linked"]) == sorted(numbers[:2])  # its links are no secret


# ---------------------------------------------------------------- the command line


def test_the_office_issues_tokens_and_webhooks_from_the_command_line(world):
    runner = CliRunner()
    run = lambda *args: runner.invoke(unit_group, list(args), obj=lambda: world.hotline)  # noqa: E731
    issued = run("token", "cgj")
    assert issued.exit_code == 0
    token = issued.stdout.strip().splitlines()[0]
    with world.hotline.db.session() as session:
        assert unit_for_token(session, token) == "cgj"
    assert run("token", "nobody").exit_code == 1
    hooked = run("webhook", "cgj", "https://cgj.example.gov.cn/hotline")
    assert hooked.exit_code == 0 and len(hooked.stdout.strip().splitlines()[0]) == 64
    listed = run("list").stdout.splitlines()
    # issue 18: a table with headers
    assert listed[0].split() == ["code", "name", "kind", "parent", "towns", "phone", "token", "webhook"]
    assert any("https://cgj.example.gov.cn/hotline" in line for line in listed[1:])
    number = world.register()
    world.act(number, "sign")
    world.act(number, "request_return", **RETURN)
    decided = run("return", number, "--approve-to", "power")
    assert decided.exit_code == 0 and world.ticket(number).unit_code == "power"
    world.at("12-15 09:00")
    assert number in run("overdue").stdout


def test_a_return_whose_reason_no_database_can_store_is_refused_and_the_list_still_works(api, world, cgj):
    """Issue 17: a lone surrogate was saved, then broke the unit's list and the ticket with 500s."""
    number = world.register()
    api.post(f"/api/v1/unit/tickets/{number}/sign", headers=cgj, json={})
    body = b'{"reason": "\\ud800", "basis": "003 \\u7b2c\\u5341\\u4e8c\\u6761"}'
    response = api.post(
        f"/api/v1/unit/tickets/{number}/return", headers=cgj, data=body, content_type="application/json"
    )
    assert response.status_code == 400 and "U+D800" in response.get_json()["error"]
    assert api.get("/api/v1/unit/tickets", headers=cgj).status_code == 200
    shown = api.get(f"/api/v1/unit/tickets/{number}", headers=cgj)
    assert shown.status_code == 200 and shown.get_json()["status"] == "signed"
