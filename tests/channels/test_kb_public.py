"""Public self-service look-up of the knowledge base (004 第二十二条): the JSON API and the /kb page."""

from __future__ import annotations


def test_search_api_returns_the_matching_entry_first(client):
    body = client.get("/api/v1/kb/search", query_string={"q": "社保卡丢了怎么办"}).json
    assert body["query"] == "社保卡丢了怎么办"
    first = body["results"][0]
    assert first["id"] == "LS-RSJ-0003"
    assert set(first) == {"id", "question", "answer", "unit", "unit_name", "score"}
    assert first["unit_name"].endswith("人力资源和社会保障局")


def test_search_api_shows_a_notice_only_while_it_is_in_force(client):
    ids = [r["id"] for r in client.get("/api/v1/kb/search?q=瓢里镇停水通知").json["results"]]
    assert "LS-WATER-0006" not in ids  # the 2025 notice has expired
    ids = [r["id"] for r in client.get("/api/v1/kb/search?q=龙胜镇停水通知").json["results"]]
    assert ids[0] == "LS-WATER-0005"


def test_search_api_needs_a_query(client):
    response = client.get("/api/v1/kb/search?q=")
    assert response.status_code == 400 and "查询" in response.json["error"]


def test_search_page_renders_results_without_javascript(client):
    html = client.get("/kb", query_string={"q": "结婚登记"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in html and '<label for="q">' in html
    assert "结婚登记" in html and "LS-MZJ-0001" in html


def test_search_page_says_when_nothing_matches(client):
    html = client.get("/kb", query_string={"q": "火星移民签证"}).get_data(as_text=True)
    assert "没有找到" in html
