"""The office's ticket queue at ``/office/tickets`` (issue 18, item 1): saved views with counts, filters,
sorting and pages, each row a link to the ticket's page; a bad filter is a Chinese message, not a 500.

The deployment runs the longsheng pack (003) with the demo units, on the test clock (Monday 2026-11-23).
"""

from __future__ import annotations

import re

import pytest

from app import create_app
from intake.core.tickets import find_ticket
from routing.queue import PAGE_SIZE
from tests.channels.staff.test_office import add_staff, login
from tests.routing.lifecycle_world import REPLY, RETURN

ROW = re.compile(r'<a href="/office/tickets/(\d+)">')


@pytest.fixture
def web(world):
    add_staff(world.hotline, "wang", "office")
    add_staff(world.hotline, "zhao", "unit_editor", unit="cgj")
    client = create_app({"hotline": world.hotline, "TESTING": True}).test_client()
    login(client, "wang")
    return client


def listed(client, **query) -> list[str]:
    page = client.get("/office/tickets", query_string=query)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return ROW.findall(page.get_data(as_text=True))


def count_of(client, view: str) -> int:
    body = client.get("/office/tickets").get_data(as_text=True)
    found = re.search(rf'data-view="{view}"[^>]*>[^<]*<span class="count">(\d+)</span>', body)
    assert found, view
    return int(found.group(1))


@pytest.fixture
def desk(world):
    """One ticket in each state the saved views list, registered Monday 09:30."""
    numbers = {}
    numbers["registered"] = world.register(registered_only=True, text="城东小区门口的垃圾没人清理")
    numbers["signed"] = world.register(text="龙胜镇桂龙路的路灯坏了")
    world.act(numbers["signed"], "sign")
    numbers["returned"] = world.register(text="桂石路的井盖松动")
    world.act(numbers["returned"], "request_return", **RETURN)
    numbers["extension"] = world.register(text="新华路的绿化带没人修剪")
    world.act(numbers["extension"], "sign")
    world.act(numbers["extension"], "request_extension", reason="需采购苗木", until="2026-12-11")
    numbers["replied"] = world.register(text="菜市场门口的下水道堵了")
    world.act(numbers["replied"], "sign")
    world.act(
        numbers["replied"], "reply", reply=REPLY | {"handled_at": "2026-11-23", "case_date": "2026-11-23"}
    )
    numbers["urgent"] = world.register(urgent=True, text="桂龙路停水了")  # due in 24 hours (003)
    return numbers


def test_each_saved_view_lists_its_tickets_with_its_count(web, world, desk):
    assert listed(web, view="to_dispatch") == [desk["registered"]]
    assert listed(web, view="returns") == [desk["returned"]]
    assert listed(web, view="extensions") == [desk["extension"]]
    assert listed(web, view="to_review") == [desk["replied"]]
    assert count_of(web, "to_dispatch") == 1 and count_of(web, "extensions") == 1
    assert listed(web, view="overdue") == []
    assert desk["urgent"] in listed(web, view="due_soon")  # due Tuesday 09:30, within 24 hours


def test_overdue_follows_the_clock_and_the_stored_due(web, world, desk):
    world.at("11-24 10:00")  # the urgent ticket's 24 hours are over; the others' working days are not
    assert listed(web, view="overdue") == [desk["urgent"]]
    assert listed(web, overdue="1") == [desk["urgent"]]
    assert desk["urgent"] not in listed(web, overdue="0")
    body = web.get("/office/tickets", query_string={"view": "overdue"}).get_data(as_text=True)
    assert "已超期" in body and "tag late" in body


def test_filters_combine_and_words_search_the_text(web, world, desk):
    assert listed(web, words="路灯") == [desk["signed"]]
    assert listed(web, words="桂龙路", urgent="1") == [desk["urgent"]]
    assert listed(web, stage="signed") == [desk["signed"]]
    assert set(listed(web, unit="cgj")) >= {desk["signed"]}
    assert listed(web, since="2026-11-24") == []
    assert len(listed(web, since="2026-11-23", until="2026-11-23")) == len(desk)
    assert listed(web, words="100%_") == []  # LIKE wildcards are the citizen's characters, not patterns


def test_sorting_and_pages(web, world):
    numbers = []
    for minute in range(PAGE_SIZE + 3):
        world.at(f"11-23 10:{minute % 60:02d}" if minute < 60 else f"11-23 11:{minute - 60:02d}")
        numbers.append(world.register(text=f"第{minute}号路灯坏了"))
    first = listed(web)
    assert len(first) == PAGE_SIZE and first[0] == numbers[-1]  # newest first
    second = listed(web, page="2")
    assert second == list(reversed(numbers[:3]))
    assert listed(web, sort="old")[0] == numbers[0]
    body = web.get("/office/tickets").get_data(as_text=True)
    assert f"共 {PAGE_SIZE + 3} 件，第 1 / 2 页" in body and 'rel="next"' in body
    assert listed(web, page="99") == second  # past the end: the last page


@pytest.mark.parametrize(
    "query, message",
    [
        ({"view": "gossip"}, "没有名为 gossip 的列表"),
        ({"stage": "lost"}, "请选择一个办理阶段"),
        ({"since": "明天"}, "日期应写成 2026-11-23"),
        ({"since": "2026-11-25", "until": "2026-11-24"}, "结束日期早于开始日期"),
        ({"page": "-1"}, "页码应为正整数"),
        ({"urgent": "maybe"}, "应为 1（是）或 0（否）"),
        ({"sort": "random"}, "排序应为"),
    ],
)
def test_a_bad_filter_is_a_message_and_the_whole_queue(web, desk, query, message):
    page = web.get("/office/tickets", query_string=query)
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    assert message in body and "筛选条件有误" in body
    assert len(ROW.findall(body)) == len(desk)


def test_only_the_office_sees_the_queue(world, desk):
    add_staff(world.hotline, "zhao", "unit_editor", unit="cgj")
    client = create_app({"hotline": world.hotline, "TESTING": True}).test_client()
    assert client.get("/office/tickets").status_code in (302, 401)  # not signed in: to the login
    login(client, "zhao")
    assert client.get("/office/tickets").status_code == 403


def test_rows_link_to_the_ticket_page_and_show_the_unit_by_name(web, world, desk):
    body = web.get("/office/tickets", query_string={"stage": "signed"}).get_data(as_text=True)
    assert f'href="/office/tickets/{desk["signed"]}"' in body
    with world.hotline.db.session() as session:
        unit = find_ticket(session, desk["signed"]).unit_code
    assert unit == "cgj" and "城市管理" in body
