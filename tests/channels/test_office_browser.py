"""The office's dashboard in a real headless Chromium: log in, see the figures drawn by Chart.js."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from intake.messages import Message
from tests.browser import chromium, served
from tests.channels.test_office import PASSWORD, add_staff, office_app

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
