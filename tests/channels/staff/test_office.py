"""The office's dashboard: staff login (passwords, throttling, CSRF, roles), the figures, CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from intake.core.messages import Message
from intake.core.models import Ticket
from intake.core.staff import StaffUser, add_user
from tests.conftest import make_hotline
from tests.routing.test_surveys import COMPLAINT, PHONE, unit_replies

PASSWORD = "correct horse battery"
OTHER_PHONE = "+8613800001111"
THIRD_PHONE = "+8613700002222"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def office_app(hotline):
    return create_app({"hotline": hotline, "TESTING": True})


def add_staff(hotline, username: str, role: str, unit: str | None = None) -> None:
    with hotline.db.session() as session:
        add_user(session, username, PASSWORD, role, hotline.clock(), unit_code=unit)
        session.commit()


@pytest.fixture
def web(demo):
    add_staff(demo, "wang", "office")
    return office_app(demo).test_client()


def login(client, username: str, password: str = PASSWORD, address: str = "10.0.0.1"):
    page = client.get("/office/login", environ_base={"REMOTE_ADDR": address})
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post(
        "/office/login",
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_office_user_logs_in_sees_the_dashboard_and_logs_out(web, demo):
    response = login(web, "wang")
    assert response.status_code == 302 and response.headers["Location"] == "/office"
    page = web.get("/office")
    assert page.status_code == 200 and "热线办公室工作台" in page.get_data(as_text=True)
    with demo.db.session() as session:
        assert (
            session.scalar(select(StaffUser.last_login_at).where(StaffUser.username == "wang"))
            == demo.clock()
        )
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    assert web.post("/office/logout", data={"csrf_token": token}).status_code == 302
    assert web.get("/office").status_code == 302


def test_a_wrong_password_or_unknown_name_is_refused_alike(web):
    wrong = login(web, "wang", "not the password")
    unknown = login(web, "nobody", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    assert web.get("/office").status_code == 302


def test_five_failures_block_that_name_from_that_address_only(web, demo):
    """Issue 17: five failures used to lock out every user behind the same address (an office's NAT)
    and the name everywhere (anyone could lock a colleague out)."""
    add_staff(demo, "li", "office")
    for _ in range(5):
        assert login(web, "wang", "guess", address="10.0.0.1").status_code == 401
    # even the right password now waits, for this name from this address
    assert login(web, "wang", address="10.0.0.1").status_code == 429
    # a colleague behind the same address, and the same person from elsewhere, still get in
    assert login(web, "li", address="10.0.0.1").status_code == 302
    assert login(web, "wang", address="10.0.0.2").status_code == 302


def test_guessing_one_name_from_many_addresses_is_capped(web, demo):
    from intake.core.staff import NAME_FAILURES

    for i in range(int(NAME_FAILURES.split("/")[0])):
        assert login(web, "wang", "guess", address=f"10.0.1.{i}").status_code == 401
    assert login(web, "wang", address="10.0.2.1").status_code == 429


def test_trying_many_names_from_one_address_is_capped(web, demo):
    from intake.core.staff import ADDRESS_FAILURES

    add_staff(demo, "li", "office")
    for i in range(int(ADDRESS_FAILURES.split("/")[0])):
        assert login(web, f"user{i}", "guess", address="10.0.3.1").status_code == 401
    assert login(web, "li", address="10.0.3.1").status_code == 429
    assert login(web, "li", address="10.0.3.2").status_code == 302
    assert login(web, "li", address="10.0.0.2").status_code == 302


@pytest.mark.parametrize(
    "path, data",
    [
        ("/office/login", {"username": "wang", "password": PASSWORD}),
        ("/office/login", {"username": "wang", "password": PASSWORD, "csrf_token": "forged"}),
        ("/office/logout", {}),
    ],
)
def test_a_post_without_the_sessions_csrf_token_is_refused(web, path, data):
    web.get("/office/login")
    assert web.post(path, data=data).status_code == 400
    assert web.get("/office").status_code == 302  # and nobody got signed in


@pytest.mark.parametrize("role, unit", [("unit_editor", "lsx_water"), ("unit_reviewer", "lsx_water")])
def test_unit_roles_are_refused_the_office_pages(web, demo, role, unit):
    add_staff(demo, "zhao", role, unit)
    assert login(web, "zhao").status_code == 302
    for path in ("/office", "/office/api/summary", "/office/export.csv"):
        assert web.get(path).status_code == 403


def test_nobody_signed_in_is_sent_to_the_login_page_and_the_api_answers_401(web):
    response = web.get("/office?from=2026-11-01")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/office/login?next=")
    assert web.get("/office/api/summary").status_code == 401


def test_the_login_never_redirects_off_site(web):
    page = web.get("/office/login?next=https://evil.example/office")
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    response = web.post(
        "/office/login?next=https://evil.example/office",
        data={"username": "wang", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/office"


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=2026-11-23&to=2026-11-01", "from=2020-01-01"])
def test_a_bad_period_is_refused(web, query):
    login(web, "wang")
    assert web.get(f"/office/api/summary?{query}").status_code == 400


# ---------------------------------------------------------------- the figures


@pytest.fixture
def pingli(settings, clock):
    """Pingli (002): 满意 / 基本满意 / 不满意, one re-handling, then a call-back."""
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy="pingli", demo=True)
    add_staff(hotline, "wang", "office")
    yield hotline
    hotline.db.dispose()


def ticket_from(hotline, channel: str, sender: str, text: str = COMPLAINT) -> str:
    outcome = hotline.handle(Message(channel=channel, sender=sender, text=text))
    assert outcome.action == "ticket", outcome.reply
    return outcome.ticket.number


def due_end(hotline, number: str):
    with hotline.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        return hotline.lifecycle.deadlines.due_end(ticket.due)


def test_the_figures_count_a_known_mix_of_tickets(pingli, clock):
    on_time = ticket_from(pingli, "sms", PHONE)
    twice = ticket_from(pingli, "voice", THIRD_PHONE)
    late = ticket_from(pingli, "sms", OTHER_PHONE)
    answered = pingli.handle(Message(channel="web", sender="visitor-1", text="社保卡丢了怎么补办"))
    assert answered.action == "answer", answered.reply

    unit_replies(pingli, on_time)  # today, well before its due date
    pingli.handle(Message(channel="sms", sender=PHONE, text="基本满意"))
    unit_replies(pingli, twice)
    pingli.handle(Message(channel="sms", sender=THIRD_PHONE, text="不满意"))
    unit_replies(pingli, twice)
    pingli.handle(Message(channel="sms", sender=THIRD_PHONE, text="不满意"))  # the second rating counts

    clock.now = due_end(pingli, late) + timedelta(days=1)
    unit_replies(pingli, late)  # a day after its due date; the citizen does not rate it

    web = office_app(pingli).test_client()
    login(web, "wang")
    day = clock.now.astimezone(pingli.settings.timezone).date().isoformat()
    f = web.get(f"/office/api/summary?from=2026-11-23&to={day}").get_json()

    assert f["total"] == 4
    assert f["by_channel"] == {"sms": 2, "voice": 1, "web": 1}
    assert f["by_category"]["consult"] == 1 and sum(f["by_category"].values()) == 4
    assert sum(f["by_day"].values()) == 4 and f["by_day"]["2026-11-23"] == 4
    assert f["on_time"] == {"replied": 3, "on_time": 2, "rate": 0.6667}
    assert f["satisfaction"] == {"rated": 2, "satisfied": 1, "rate": 0.5}
    assert f["hot"]["knowledge"] == [
        {"kb_id": answered.kb_id, "question": f["hot"]["knowledge"][0]["question"], "count": 1}
    ]
    assert f["rating_of"] == {on_time: "基本满意", twice: "不满意"}
    (callback,) = f["callbacks"]
    assert callback["number"] == twice and callback["phone"] == "137****2222"
    assert "13700002222" not in web.get(f"/office?from=2026-11-23&to={day}").get_data(as_text=True)


def test_the_overdue_list_shows_open_tickets_past_their_due_date(demo, clock):
    add_staff(demo, "wang", "office")
    number = ticket_from(demo, "sms", PHONE, "瓢里镇瓢里街的路灯坏了一个多月了")
    web = office_app(demo).test_client()
    login(web, "wang")
    assert web.get("/office/api/summary").get_json()["overdue"] == []
    clock.now = due_end(demo, number) + timedelta(days=3)
    f = web.get("/office/api/summary?from=2026-11-23").get_json()
    assert {(o["number"], o["kind"]) for o in f["overdue"]} >= {(number, "reply")}
    assert number in web.get("/office?from=2026-11-23").get_data(as_text=True)


def test_urgent_tickets_are_the_key_items(demo):
    add_staff(demo, "wang", "office")
    number = ticket_from(demo, "sms", PHONE, "龙胜镇桑江路整条街停水两天了，一直没来水")
    web = office_app(demo).test_client()
    login(web, "wang")
    f = web.get("/office/api/summary").get_json()
    assert [u["number"] for u in f["urgent"]] == [number]


@pytest.fixture
def wengyuan(settings, clock):
    """Wengyuan (000): 一天内多人反映 makes a key item (000 第十四条), three citizens in this pack."""
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy="wengyuan", demo=True)
    add_staff(hotline, "wang", "office")
    yield hotline
    hotline.db.dispose()


# four neighbours describe one broken water main in their own words; the first names a door number
WATER_MAIN = [
    ("+8613800000001", "瓢里镇瓢里街18号门口的自来水管爆了，水漫到路上了。我家电话13800000001"),
    ("+8613800000002", "瓢里街那边自来水管爆裂了，整条路都是水"),
    ("+8613800000003", "瓢里镇瓢里街自来水管破了，路上全是水没人管"),
    ("+8613800000004", "瓢里镇瓢里街的自来水管爆了，路上到处是水"),
]


def test_an_incident_many_people_reported_is_a_key_item_with_its_tickets(wengyuan, clock):
    outcomes = [wengyuan.handle(Message(channel="sms", sender=s, text=t)) for s, t in WATER_MAIN]
    assert [o.action for o in outcomes] == ["ticket"] * 4, [o.reply for o in outcomes]
    numbers = sorted(o.ticket.number for o in outcomes)
    lamp = ticket_from(wengyuan, "sms", OTHER_PHONE, "瓢里镇瓢里街的路灯坏了一个多月了")
    web = office_app(wengyuan).test_client()
    login(web, "wang")

    f = web.get("/office/api/summary").get_json()
    # the fourth report's flag joins the first three: one incident, not two
    (item,) = f["key_items"]
    assert item["numbers"] == numbers and lamp not in item["numbers"]
    assert item["reporters"] == 4 and item["basis"] == "000 第十四条"
    assert item["unit"] == outcomes[0].ticket.unit and item["open"] == 4
    assert item["summary"] == "瓢里镇瓢里街某门口的自来水管爆了，水漫到路上了"  # the door number taken out
    assert f["key_item_rule"] == {"same_day_reporters": 3, "basis": "000 第十四条"}

    page = web.get("/office").get_data(as_text=True)
    assert "重点事项（一天内多人反映）" in page and "依据000 第十四条" in page
    assert "4人" in page and "、".join(numbers) in page and "瓢里镇瓢里街某门口" in page
    for sender, _ in WATER_MAIN:  # nobody's number, in full, anywhere
        assert sender[-11:] not in page and sender[-11:] not in str(f)

    later = web.get("/office/api/summary?from=2026-11-24&to=2026-11-24").get_json()
    assert later["key_items"] == []  # flagged on the 23rd, not in this period


def test_two_reporters_are_not_yet_a_key_item(wengyuan):
    for sender, text in WATER_MAIN[:2]:
        ticket_from(wengyuan, "sms", sender, text)
    web = office_app(wengyuan).test_client()
    login(web, "wang")
    assert web.get("/office/api/summary").get_json()["key_items"] == []
    page = web.get("/office").get_data(as_text=True)
    assert '<table id="key-items">' in page and "暂无" in page.split('id="key-items"')[1].split("</table>")[0]


def test_a_pack_without_the_key_item_rule_shows_no_such_list(web):  # 003 names no key items
    login(web, "wang")
    f = web.get("/office/api/summary").get_json()
    assert f["key_items"] == [] and f["key_item_rule"] is None
    assert "一天内多人反映" not in web.get("/office").get_data(as_text=True)


def test_the_csv_export_lists_the_periods_tickets_with_numbers_masked(demo):
    add_staff(demo, "wang", "office")
    first = ticket_from(demo, "sms", PHONE)
    second = ticket_from(demo, "voice", OTHER_PHONE, "瓢里镇瓢里街的路灯坏了一个多月了")
    web = office_app(demo).test_client()
    login(web, "wang")
    response = web.get("/office/export.csv?from=2026-11-23&to=2026-11-23")
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert PHONE[-11:] not in body and OTHER_PHONE[-11:] not in body
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert [(r["工单号"], r["渠道"], r["channel"], r["来电号码"]) for r in rows] == [
        (first, "短信", "sms", "139****5678"),
        (second, "电话", "voice", "138****1111"),
    ]
    assert all(r["disposition"] == "dispatched" and r["处理方式"] == "已派单" and r["办理时限"] for r in rows)
    assert all(r["办理阶段"] == "已转交承办单位" and r["登记时间"].startswith("2026-11-23 ") for r in rows)
    with demo.db.session() as session:
        names = [demo.units(session).name(r["unit"]) for r in rows]
    assert [r["承办单位"] for r in rows] == names and all(names)  # the unit's name; its code in "unit"
    assert web.get("/office/export.csv?from=2026-11-24&to=2026-11-24").get_data(as_text=True).count("\n") == 1


# ---------------------------------------------------------------- hotline user add


def test_hotline_user_add_creates_a_user_who_can_log_in(cli, demo):
    result = cli("user", "add", "Admin", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "user admin added with role admin" in result.output
    web = office_app(demo).test_client()
    assert login(web, "admin").status_code == 302


@pytest.mark.parametrize(
    "args, stdin, error",
    [
        (["zhao", "--role", "unit_editor"], f"{PASSWORD}\n", "needs --unit"),
        (["zhao", "--role", "office", "--unit", "lsx_water"], f"{PASSWORD}\n", "belongs to no unit"),
        (["zhao", "--role", "office"], "short\n", "password too short"),
    ],
)
def test_hotline_user_add_refuses_what_it_cannot_create(cli, args, stdin, error):
    result = cli("user", "add", *args, "--password-stdin", input=stdin)
    assert result.exit_code == 1 and error in result.output


def test_hotline_user_add_refuses_a_taken_name(cli):
    assert cli("user", "add", "wang", "--role", "office", "--password-stdin", input=PASSWORD).exit_code == 0
    again = cli("user", "add", "WANG", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert again.exit_code == 1 and "exists already" in again.output


def test_a_copy_of_the_session_cookie_stops_working_at_logout(web, demo):
    """Issue 17: the signed cookie used to stay valid after logout; the session is now revoked server-side."""
    assert login(web, "wang").status_code == 302
    cookie = web.get_cookie("session")
    copy = office_app(demo).test_client()
    copy.set_cookie(cookie.key, cookie.value)
    assert copy.get("/office").status_code == 200  # the copy works while the session is open
    page = web.get("/office").get_data(as_text=True)
    web.post("/office/logout", data={"csrf_token": CSRF.search(page).group(1)})
    assert web.get("/office").status_code == 302
    assert copy.get("/office").status_code == 302  # and the copy is out too
