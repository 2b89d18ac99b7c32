"""The staff pages on a phone (issue 18, item 5): at 390 px wide nothing scrolls sideways, and no text is
squeezed to a character a line; screenshots at 390 and 1366 px are saved for a person to look at.

The width check is the page's own: ``document.documentElement.scrollWidth`` must not exceed the viewport.
A table too wide for the phone may scroll inside its own box (``.scroll``), never the page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.models import Ticket
from tests.browser import chromium, served
from tests.channels.staff.test_office import PASSWORD, add_staff, office_app

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
ENTRY = "LS-GJJ-0001"

# every page an editor or an administrator opens, by its path
EDITOR_PAGES = [
    "/editor/",
    f"/editor/entries/{ENTRY}",
    f"/editor/entries/{ENTRY}/edit",
    f"/editor/entries/{ENTRY}/versions/1",
    "/editor/new",
    "/editor/questions",
    "/editor/questions/new",
    "/editor/gaps",
    "/editor/import",
    "/editor/export",
    "/editor/audit",
    "/editor/users",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def server(demo) -> Iterator[str]:
    add_staff(demo, "root", "admin")
    demo.handle(Message(channel="sms", sender="+8613912345678", text="瓢里镇瓢里街的路灯坏了一个多月了"))
    demo.handle(Message(channel="web", sender="visitor-1", text="社保卡丢了怎么补办"))
    with served(office_app(demo)) as url:
        yield url


@pytest.fixture
def ticket_page(demo, server) -> str:
    """The office's page of the ticket the server fixture's SMS registered."""
    with demo.db.session() as session:
        number = session.scalars(select(Ticket.number).order_by(Ticket.id)).first()
    assert number, "the demo SMS registered no ticket"
    return f"/office/tickets/{number}"


def signed_in(browser: Browser, server: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(base_url=server, viewport=viewport, locale="zh-CN")
    page = context.new_page()
    page.goto("/office/login")
    page.get_by_label("用户名").fill("root")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(f"{server}/office/login")
    return page


def overflow(page: Page) -> dict[str, object]:
    """How far the page scrolls sideways, and the widest element that makes it."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          let widest = null, right = width;
          for (const el of document.body.querySelectorAll('*')) {
            if (el.closest('.scroll')) continue;  // a box that scrolls by itself
            const r = el.getBoundingClientRect();
            if (r.right > right + 1) { right = r.right; widest = el.tagName + '.' + el.className; }
          }
          return {scroll: document.documentElement.scrollWidth - width, widest, right};
        }"""
    )


def test_no_staff_page_scrolls_sideways_on_a_phone(browser, server, ticket_page, tmp_path):
    page = signed_in(browser, server, PHONE)
    wide = {}
    for path in ["/office", "/office/callbacks", "/office/tickets", ticket_page, *EDITOR_PAGES]:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.screenshot(path=str(tmp_path / f"phone{path.replace('/', '_')}.png"))  # the first screen
        found = overflow(page)
        if found["scroll"] > 0 or found["widest"]:
            wide[path] = found
    print(f"screenshots: {tmp_path}")
    assert wide == {}
    page.context.close()


def test_the_version_table_keeps_its_words_on_a_phone(browser, server):
    """The editor's entry page once squeezed its version table to one character a line."""
    page = signed_in(browser, server, PHONE)
    page.goto(f"/editor/entries/{ENTRY}")
    cells = page.locator("table td, table th")
    assert cells.count() > 0
    # a cell one character wide is ~1 em: every cell holding text must be wider than two characters
    narrow = page.evaluate(
        """() => [...document.querySelectorAll('table td, table th')]
             .filter(c => c.innerText.trim().length > 2 && c.getBoundingClientRect().width < 32)
             .map(c => c.innerText.trim())"""
    )
    assert narrow == []
    page.context.close()


def test_the_same_pages_on_a_laptop(browser, server, ticket_page, tmp_path):
    page = signed_in(browser, server, LAPTOP)
    for path in ["/office", "/office/tickets", ticket_page, *EDITOR_PAGES[:4]]:
        page.goto(path)
        page.screenshot(path=str(tmp_path / f"laptop{path.replace('/', '_')}.png"), full_page=True)
        assert overflow(page)["scroll"] <= 0, path
    print(f"screenshots: {tmp_path}")
    page.context.close()
