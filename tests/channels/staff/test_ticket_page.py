"""One ticket on the office's desk: the page, the office's actions, refusals and two staff at once."""

from __future__ import annotations

import pytest

from app import create_app
from tests.channels.staff.test_office import add_staff, login
from tests.routing.lifecycle_world import TEXT, make_world


@pytest.fixture
def world(settings, clock):
    w = make_world(settings, clock, "longsheng")
    w.at("11-23 09:30")
    yield w
    w.hotline.db.dispose()


@pytest.fixture
def web(world):
    add_staff(world.hotline, "wang", "office")
    add_staff(world.hotline, "zhao", "unit_editor", unit="cgj")
    return create_app({"hotline": world.hotline, "TESTING": True}).test_client()


def test_the_page_shows_number_stage_and_text(web, world):
    number = world.register()
    assert web.get(f"/office/tickets/{number}").status_code == 302  # not signed in: the login page
    login(web, "wang")
    page = web.get(f"/office/tickets/{number}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert number in body and "已转交承办单位" in body and TEXT in body


def test_an_unknown_number_is_404_and_unit_staff_are_403(web, world):
    number = world.register()
    login(web, "wang")
    assert web.get("/office/tickets/2611239999").status_code == 404
    web.post("/office/logout", data={"csrf_token": _token(web)})
    login(web, "zhao")
    assert web.get(f"/office/tickets/{number}").status_code == 403


def _token(client) -> str:
    from tests.channels.staff.test_office import CSRF

    return CSRF.search(client.get("/office").get_data(as_text=True)).group(1)


def test_the_queue_can_link_to_it(web, world):
    from flask import url_for

    with web.application.test_request_context():
        assert url_for("office_ticket.show", number="2611230001") == "/office/tickets/2611230001"
