"""The office's pages in a real headless Chromium: log in, see the figures drawn by Chart.js; an operator
records a call-back's result from the queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.tickets import find_ticket
from routing.callbacks import UNREACHABLE
from routing.surveys import CallbackRequest
from tests.browser import chromium, served
from tests.channels.staff.test_office import PASSWORD, add_staff, office_app
from tests.routing.test_surveys import PHONE, replied_ticket

LAPTOP = {"width": 1366, "height": 900}
CHARTS = ("chart-day", "chart-channel", "chart-category", "chart-unit")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def server(demo) -> Iterator[str]:
    with served(office_app(demo)) as url:
        yield url


def test_the_office_logs_in_and_sees_the_charts(browser, server, demo, tmp_path):
    add_staff(demo, "wang", "office")
    demo.handle(Message(channel="sms", sender="+8613912345678", text="瓢里镇瓢里街的路灯坏了一个多月了"))
    demo.handle(Message(channel="web", sender="visitor-1", text="社保卡丢了怎么补办"))
    errors: list[str] = []
    context = browser.new_context(base_url=server, viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    # every script and style sheet must load (the browser's own favicon request may 404)
    page.on(
        "response",
        lambda r: r.status >= 400 and "favicon" not in r.url and errors.append(f"{r.status} {r.url}"),
    )
    page.goto("/office")
    expect(page).to_have_url(f"{server}/office/login?next=/office")
    page.get_by_label("用户名").fill("wang")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="热线办公室工作台")).to_be_visible()
    expect(page.locator("#total")).to_have_text("2")
    for chart in CHARTS:
        drawn = page.evaluate(
            "id => { const c = Chart.getChart(document.getElementById(id));"
            " return c ? c.data.datasets[0].data.reduce((a, b) => a + b, 0) : null; }",
            chart,
        )
        assert drawn is not None, f"{chart} was not drawn"
    assert page.evaluate("Chart.getChart(document.getElementById('chart-channel')).data.labels") == [
        "短信",
        "网页",
    ]
    shot = tmp_path / "office-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"dashboard screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert errors == []
    context.close()


def test_an_operator_calls_back_and_records_the_result(browser, server, demo, tmp_path):
    """From the dashboard to the queue: the full number to dial, the result recorded, the queue empty."""
    add_staff(demo, "zhou", "operator")
    number, _ = replied_ticket(demo, channel="voice")
    with demo.db.session() as session:
        ticket = find_ticket(session, number)
        session.add(
            CallbackRequest(ticket_id=ticket.id, reason=UNREACHABLE, basis=None, created_at=demo.clock())
        )
        session.commit()
    errors: list[str] = []
    context = browser.new_context(base_url=server, viewport=LAPTOP, locale="zh-CN")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.goto("/office/login")
    page.get_by_label("用户名").fill("zhou")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="回访队列（1）").click()
    expect(page.get_by_role("heading", name="回访队列")).to_be_visible()

    card = page.get_by_role("article", name=f"工单{number}")
    expect(card.get_by_role("link", name=PHONE)).to_have_attribute("href", f"tel:{PHONE}")
    expect(card).to_contain_text(UNREACHABLE)
    card.get_by_label("已联系上").check()
    card.get_by_label("诉求人评价").select_option("满意")
    card.get_by_label("情况说明").fill("路灯已经修好")
    shot = tmp_path / "office-callbacks.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"call-back queue screenshot: {shot}")
    card.get_by_role("button", name="记录结果").click()

    expect(page.get_by_role("status")).to_have_text(f"工单{number}的回访结果已记录。")
    expect(page.get_by_text("暂无待回访的诉求人。")).to_be_visible()
    with demo.db.session() as session:
        (done,) = session.scalars(select(CallbackRequest)).all()
        assert (done.status, done.operator, done.outcome, done.rating) == ("done", "zhou", "reached", "满意")
        assert find_ticket(session, number).status == "closed"
    assert errors == []
    context.close()
