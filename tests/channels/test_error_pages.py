"""Every refusal a person can reach speaks Chinese (issue 18, item 4): a page with a way back (and, for
403, who to ask) for people, JSON for the APIs, plain text for the platforms; never Werkzeug's English.
"""

from __future__ import annotations

import re

import pytest

from app import create_app
from tests.channels.staff.test_office import add_staff, login

ENGLISH = re.compile(r"Not Found|Forbidden|Method Not Allowed|Bad Request|Too Many|Conflict|Unsupported")


@pytest.fixture
def client(demo):
    return create_app({"hotline": demo, "TESTING": True}).test_client()


def chinese_page(response, status: int, *words: str) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html" and 'lang="zh-CN"' in body
    assert not ENGLISH.search(body), body
    assert 'href="/' in body, "a way back"
    for word in words:
        assert word in body
    return body


@pytest.mark.parametrize("path", ["/no-such-page", "/kb/nothing/here", "/office/nowhere", "/favicon.ico"])
def test_an_unknown_address_gets_a_chinese_page(client, path):
    chinese_page(client.get(path), 404, "找不到页面")


def test_a_staff_page_that_is_not_there_offers_the_desk_and_the_login(client):
    body = chinese_page(client.get("/office/nowhere"), 404)
    assert 'href="/office/login"' in body


def test_a_unit_editor_at_the_office_desk_is_told_who_to_ask(client, demo):
    add_staff(demo, "zhao", "unit_editor", "lsx_water")
    assert login(client, "zhao").status_code == 302
    chinese_page(client.get("/office"), 403, "没有权限", "管理员")


def test_a_wrong_method_on_a_page_is_a_chinese_405_with_allow(client):
    response = client.delete("/kb")
    chinese_page(response, 405, "访问方式")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/api/v1/nothing", 404),
        ("delete", "/api/v1/messages", 405),
        ("get", "/api/v1/kb/nothing", 404),  # the knowledge API: a code in "error", the words in "message"
    ],
)
def test_the_apis_answer_json_in_chinese(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status and response.is_json
    words = response.json.get("message") or response.json["error"]
    assert not ENGLISH.search(words) and not words.isascii()


def test_the_platforms_get_plain_text(client):
    response = client.get("/sms/incoming")
    assert response.status_code == 405 and response.mimetype == "text/plain"
    assert not response.get_data(as_text=True).isascii()
