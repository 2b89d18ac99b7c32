"""The knowledge editors' pages in a real headless Chromium, with the public web chat beside them.

The whole life of an entry, as the people do it: a unit's editor signs in, writes an entry and submits
it; the unit's reviewer publishes it; a citizen asks the web chat in other words and gets it at once;
the editor cannot touch another unit's entry; after a change is published, an administrator restores
the first version and publishes it, and the citizen's answer is the first text again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium, served
from tests.channels.staff.test_office import PASSWORD, add_staff, office_app

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
GJJ_ENTRY = "LS-GJJ-0001"
FIRST = "带购车发票、合格证和身份证到县交警大队车管所办理，当场发放号牌。"
SECOND = "电动自行车上牌已改为网上预约：关注“龙胜交警”公众号预约后到车管所领取号牌。"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def server(demo) -> Iterator[str]:
    add_staff(demo, "li", "unit_editor", "jjdd")
    add_staff(demo, "wang", "unit_reviewer", "jjdd")
    add_staff(demo, "root", "admin")
    with served(office_app(demo)) as url:
        yield url


class Staff:
    """One person at a laptop: a browser profile of their own, its errors collected."""

    def __init__(self, browser: Browser, server: str, username: str) -> None:
        self.errors: list[str] = []
        self.context = browser.new_context(base_url=server, viewport=LAPTOP, locale="zh-CN")
        self.page = page = self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", lambda m: "Content Security Policy" in m.text and self.errors.append(m.text))
        page.goto("/editor/")
        expect(page).to_have_url(f"{server}/office/login?next=/editor/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="知识条目", exact=True)).to_be_visible()

    def open_entry(self, question: str) -> Page:
        self.page.goto("/editor/")
        self.page.get_by_role("link", name=question).first.click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(question)
        return self.page

    def step(self, button: str, done: str) -> None:
        self.page.get_by_role("button", name=button, exact=True).click()
        expect(self.page.locator(".notice")).to_contain_text(done)

    def close(self) -> None:
        self.context.close()
        assert self.errors == []


def citizen_asks(browser: Browser, server: str, question: str, answer: str) -> None:
    """A citizen on a phone types ``question`` into the web chat and reads ``answer`` in the reply."""
    context = browser.new_context(base_url=server, viewport=PHONE, locale="zh-CN", has_touch=True)
    page = context.new_page()
    page.goto("/")
    page.get_by_label("请输入您要咨询或反映的事项").fill(question)
    page.keyboard.press("Enter")
    expect(page.get_by_role("log")).to_contain_text(answer)
    context.close()


def test_an_entry_from_first_draft_to_the_citizens_answer_and_back(browser, server, tmp_path):
    editor = Staff(browser, server, "li")
    page = editor.page
    page.get_by_role("link", name="新建条目").click()
    expect(page.get_by_role("heading", name="新建知识条目")).to_be_visible()
    page.get_by_label("标准问题").fill("电动自行车怎么上牌照？")
    page.get_by_label("其他问法").fill("电瓶车在哪里上牌\n电动车挂牌要带什么")
    page.get_by_label("答复内容").fill(FIRST)
    page.get_by_label("关键词").fill("电动自行车，上牌")
    # the service fields show for a service guide only
    service = page.get_by_role("group", name="办事指南（003 第十五条）")
    expect(service).to_be_hidden()
    page.get_by_label("类型").select_option(label="办事指南")
    expect(service).to_be_visible()
    page.get_by_label("类型").select_option(label="问答")
    expect(service).to_be_hidden()
    # preview: a citizen's wording nothing answers now is answered with this draft
    page.get_by_label("试问的问题（每行一个）").fill("电瓶车上牌去哪里办")
    page.get_by_role("button", name="试问").click()
    result = page.get_by_role("table", name="试问结果")
    expect(result).to_contain_text("直接回答：电动自行车怎么上牌照？")
    expect(result).to_be_focused()
    page.get_by_label("修改说明").fill("新增电动自行车上牌")
    page.screenshot(path=str(tmp_path / "editor-edit.png"), full_page=True)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".notice")).to_contain_text("已保存为第 1 版（草稿）")
    editor.step("提交审核", "已提交审核")
    expect(page.locator(".facts")).to_contain_text("待审核")

    # another unit's entry: readable, no edit button, and the edit address is refused with the reason
    page.goto(f"/editor/entries/{GJJ_ENTRY}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("住房公积金")
    expect(page.get_by_role("link", name="修改", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="恢复此版本")).to_have_count(0)
    response = page.goto(f"/editor/entries/{GJJ_ENTRY}/edit")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("不能修改其他单位的知识条目")
    expect(page.get_by_role("alert")).to_contain_text("只能修改本单位的知识条目")
    editor.close()

    reviewer = Staff(browser, server, "wang")
    expect(reviewer.page.get_by_role("heading", name="待我审核（1）")).to_be_visible()
    page = reviewer.open_entry("电动自行车怎么上牌照？")
    reviewer.step("发布", "已发布")
    citizen_asks(browser, server, "我的电瓶车要去哪里上牌", FIRST)

    # a reviewer's own change, published: the citizen now gets the second text
    page.get_by_role("link", name="修改", exact=True).click()
    page.get_by_label("答复内容").fill(SECOND)
    page.get_by_label("修改说明").fill("改为网上预约")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".facts")).to_contain_text("已发布 · 有未提交的修改")
    reviewer.step("提交审核", "已提交审核")
    reviewer.step("发布", "已发布")
    citizen_asks(browser, server, "电瓶车上牌去哪里办", SECOND)
    reviewer.close()

    admin = Staff(browser, server, "root")
    page = admin.open_entry("电动自行车怎么上牌照？")
    versions = page.get_by_role("table").last
    expect(versions.get_by_role("row")).to_have_count(3)  # the header and two versions
    page.get_by_role("link", name="对比（第 2 版与上一版）").click()
    expect(page.locator("del").first).to_be_visible()
    expect(page.locator("ins").first).to_be_visible()
    page.go_back()
    admin.step("恢复此版本（第 1 版）", "已把第 1 版恢复为新的草稿")
    expect(page.get_by_role("table", name="待发布的修改")).to_contain_text("答复内容")
    page.screenshot(path=str(tmp_path / "editor-entry.png"), full_page=True)
    admin.step("提交审核", "已提交审核")
    admin.step("发布", "已发布")
    expect(page.locator(".facts")).to_contain_text("第 3 版")
    citizen_asks(browser, server, "电动车在哪儿挂牌", FIRST)
    admin.close()
