"""The web chat in a real headless Chromium, against the real app served on a local port.

Each test is what a citizen does on a phone: ask, pick a choice, report a problem, call for help, look up
a ticket, and what they see when the network or the server fails. The page must show what the API said,
so the expected text is taken from the API's own response, never written into the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect
from sqlalchemy import func, select

from intake.core.messages import Message
from intake.core.models import Ticket
from tests.browser import TIMEOUT_MS, chromium, served
from tests.contract import EXAMPLES

PHONE = {"width": 390, "height": 844}

LABEL_TEXT = "请输入您要咨询或反映的事项"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def server(app) -> Iterator[str]:
    with served(app) as url:
        yield url


def _open(browser: Browser, server: str, errors: list[str]):
    context = browser.new_context(base_url=server, viewport=PHONE, locale="zh-CN", has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", lambda m: "Content Security Policy" in m.text and errors.append(m.text))
    page.goto("/")
    return context, page


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    """A phone-sized page on the chat; fails the test if the page threw or broke its own CSP."""
    errors: list[str] = []
    context, page = _open(browser, server, errors)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def other_browser(browser, server) -> Iterator[Page]:
    """The chat in a second, separate browser profile: another citizen, with its own sender id."""
    errors: list[str] = []
    context, page = _open(browser, server, errors)
    yield page
    context.close()
    assert not errors, errors


def textbox(page: Page):
    return page.get_by_label(LABEL_TEXT)


def send(page: Page, text: str) -> dict:
    """Type ``text`` and press the send button; returns the API's reply to it."""
    textbox(page).fill(text)
    with page.expect_response("**/api/v1/messages") as response:
        page.get_by_role("button", name="发送").click()
    return response.value.json()


def last_reply(page: Page):
    return page.locator(".msg.bot").last


def sent_bodies(requests: list[Request]) -> list[dict]:
    return [json.loads(r.post_data or "{}") for r in requests if r.url.endswith("/api/v1/messages")]


def test_a_question_gets_its_answer(page):
    outcome = send(page, EXAMPLES["answer"])
    assert outcome["action"] == "answer"
    expect(page.locator(".msg.me").last).to_have_text(EXAMPLES["answer"])
    expect(last_reply(page)).to_have_text(outcome["reply"])
    expect(textbox(page)).to_have_value("")


def test_the_browser_keeps_its_sender_and_a_fresh_message_id_per_message(page):
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    first = send(page, EXAMPLES["answer"])
    assert page.evaluate("localStorage.getItem('hotline-sender')") == first["sender"]
    page.reload()  # the sender outlives the page
    page.on("request", lambda r: requests.append(r))
    second = send(page, "结婚登记需要带什么")
    assert second["sender"] == first["sender"]
    bodies = sent_bodies(requests)
    assert "sender" not in bodies[0] and bodies[1]["sender"] == first["sender"]
    assert all(UUID.match(b["message_id"]) for b in bodies)
    assert bodies[0]["message_id"] != bodies[1]["message_id"]


def test_a_clarify_choice_is_picked_by_clicking_it(page):
    requests: list[Request] = []
    page.on("request", lambda r: requests.append(r))
    clarify = send(page, "公积金")
    assert clarify["action"] == "clarify"
    choices = page.locator(".msg.clarify").get_by_role("button")
    expect(choices).to_have_count(len(clarify["candidates"]))
    chosen = clarify["candidates"][1]
    expect(choices.nth(1)).to_contain_text(chosen["question"])
    with page.expect_response("**/api/v1/messages") as response:
        choices.nth(1).click()
    answer = response.value.json()
    assert sent_bodies(requests)[-1]["text"] == "2"  # the pipeline picks a choice by its number
    assert answer["action"] == "answer" and answer["kb_id"] == chosen["kb_id"]
    expect(last_reply(page)).to_have_text(answer["reply"])
    for i in range(len(clarify["candidates"])):
        expect(choices.nth(i)).to_be_disabled()  # a choice answered is not offered again


def test_a_reported_problem_shows_the_ticket_number_with_a_copy_button(page, demo):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    outcome = send(page, EXAMPLES["ticket"])
    assert outcome["action"] == "ticket"
    number = outcome["ticket"]["number"]
    card = last_reply(page).locator(".ticket-card")
    expect(card.locator(".ticket-number")).to_have_text(number)
    card.get_by_role("button", name=re.compile("复制工单号")).click()
    expect(card.get_by_role("button")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == number
    with demo.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket.channel == "web" and ticket.sender == outcome["sender"]


def test_keyboard_alone_sends_with_enter_and_makes_new_lines_with_shift_enter(page):
    for _ in range(20):  # tab from the top of the page to the message box
        if page.evaluate("document.activeElement.id") == "text":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "text"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.insert_text("社保卡丢了")
    page.keyboard.press("Shift+Enter")
    page.keyboard.insert_text("怎么补办")
    expect(textbox(page)).to_have_value("社保卡丢了\n怎么补办")
    expect(page.locator(".msg.me")).to_have_count(0)
    with page.expect_response("**/api/v1/messages") as response:
        page.keyboard.press("Enter")
    expect(last_reply(page)).to_have_text(response.value.json()["reply"])
    expect(textbox(page)).to_have_value("")
    expect(textbox(page)).to_be_focused()


def test_replies_arrive_in_a_polite_live_region_and_every_field_has_a_label(page):
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    for label in (LABEL_TEXT, "工单号", "电话号码后四位"):
        expect(page.get_by_label(label, exact=True)).to_have_count(1)
    outcome = send(page, EXAMPLES["answer"])
    expect(log.locator(".msg.bot").last).to_have_text(outcome["reply"])
    textbox(page).fill("测" * 2100)
    expect(textbox(page)).to_have_value("测" * 2000)


def test_an_emergency_is_an_alert_with_a_tel_link_to_every_line(page):
    outcome = send(page, "出车祸了，有人受伤流了很多血")
    assert outcome["action"] == "transfer" and len(outcome["transfer_all"]) >= 2
    alert = last_reply(page)
    expect(alert).to_have_class(re.compile(r"\btransfer\b"))
    expect(alert).to_contain_text(outcome["reply"])
    links = alert.get_by_role("link")
    expect(links).to_have_count(len(outcome["transfer_all"]))
    for link, line in zip(links.all(), outcome["transfer_all"], strict=True):
        expect(link).to_have_attribute("href", f"tel:{line}")
    expect(links.first).to_have_attribute("href", f"tel:{outcome['transfer_to']}")
    ordinary = page.locator(".msg.bot").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert alert.evaluate("e => getComputedStyle(e).backgroundColor") != ordinary


def test_a_lost_reply_keeps_the_text_and_the_retry_creates_nothing_twice(page, demo):
    bodies: list[dict] = []

    def lose_the_first_reply(route: Route) -> None:
        bodies.append(json.loads(route.request.post_data or "{}"))
        if len(bodies) == 1:
            route.fetch()  # the server gets it and registers the ticket, but the reply never arrives
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/messages", lose_the_first_reply)
    textbox(page).fill(EXAMPLES["ticket"])
    textbox(page).press("Enter")
    expect(last_reply(page)).to_contain_text("网络连接失败")
    expect(page.locator(".msg.me").last).to_have_class(re.compile(r"\bfailed\b"))
    expect(textbox(page)).to_have_value(EXAMPLES["ticket"])
    with page.expect_response("**/api/v1/messages") as response:
        textbox(page).press("Enter")
    number = response.value.json()["ticket"]["number"]
    expect(last_reply(page).locator(".ticket-number")).to_have_text(number)
    assert bodies[0]["message_id"] == bodies[1]["message_id"]
    with demo.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_server_failure_gets_a_polite_message_and_keeps_the_text(page):
    page.route("**/api/v1/messages", lambda route: route.fulfill(status=502, body="<h1>Bad Gateway</h1>"))
    textbox(page).fill(EXAMPLES["answer"])
    textbox(page).press("Enter")
    expect(last_reply(page)).to_contain_text("系统繁忙")
    expect(last_reply(page)).not_to_contain_text("Bad Gateway")
    expect(textbox(page)).to_have_value(EXAMPLES["answer"])


def look_up(page: Page, number: str, check: str = "") -> dict:
    """Fill in the status look-up form and submit it; returns the API's JSON answer."""
    box = page.locator("details.lookup")
    if box.get_attribute("open") is None:
        page.get_by_text("查询工单办理进度").click()
    page.get_by_label("工单号", exact=True).fill(number)
    page.get_by_label("电话号码后四位").fill(check)
    with page.expect_response(re.compile(r"/api/v1/tickets/")) as response:
        page.get_by_role("button", name="查询", exact=True).click()
    return {"status": response.value.status, "url": response.value.url, **response.value.json()}


def test_the_status_look_up_shows_the_stage_for_the_right_digits_only(page, demo):
    by_sms = demo.handle(Message(channel="sms", sender="+8613812345678", text=EXAMPLES["ticket"]))
    number = by_sms.ticket.number
    found = look_up(page, number, "5678")
    assert found["status"] == 200 and "check=5678" in found["url"]
    expect(last_reply(page)).to_have_text(found["reply"])
    expect(last_reply(page)).to_contain_text(found["stage_text"])
    refused = look_up(page, number, "1234")
    assert refused["status"] == 404
    expect(last_reply(page)).to_have_text(refused["error"])
    unknown = look_up(page, "2611239999", "5678")
    assert unknown["status"] == 404
    # a wrong proof reads like a number that does not exist
    assert refused["error"].replace(number, "N") == unknown["error"].replace("2611239999", "N")


def test_the_status_look_up_knows_this_browsers_own_ticket_without_digits(page, other_browser):
    number = send(page, EXAMPLES["ticket"])["ticket"]["number"]
    expect(page.get_by_label("工单号", exact=True)).to_have_value(number)  # filled in from the chat
    found = look_up(page, number)
    assert found["status"] == 200
    assert "sender=" in found["url"] and "check=" not in found["url"]
    expect(last_reply(page)).to_have_text(found["reply"])
    stranger = look_up(other_browser, number)
    assert stranger["status"] == 404
    expect(last_reply(other_browser)).to_have_text(stranger["error"])


def test_on_a_phone_the_page_fits_the_screen(page, tmp_path):
    send(page, EXAMPLES["answer"])
    send(page, EXAMPLES["ticket"])
    send(page, "出车祸了，有人受伤流了很多血")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    composer = page.locator("form#ask").bounding_box()
    assert composer and composer["y"] + composer["height"] <= PHONE["height"]  # the box stays in reach
    shot = tmp_path / "webchat-phone.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 0
    print(f"phone screenshot: {shot}")
