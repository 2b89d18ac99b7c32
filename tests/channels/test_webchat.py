"""The web chat page as served: its markup for screen readers and keyboards, and that it needs no one else.

What the page does in a browser is in ``test_webchat_browser.py``; these tests read the HTML only.
"""

from __future__ import annotations

from html.parser import HTMLParser


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text of each ``<label for=…>``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.labels: dict[str, str] = {}
        self._label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "label" and "for" in attributes:
            self._label_for = attributes["for"]
            self.labels[self._label_for] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_for = None

    def handle_data(self, data: str) -> None:
        if self._label_for:
            self.labels[self._label_for] += data.strip()

    def by_id(self, id_: str) -> tuple[str, dict[str, str]]:
        [found] = [(tag, attrs) for tag, attrs in self.tags if attrs.get("id") == id_]
        return found


def page(client) -> Elements:
    response = client.get("/")
    assert response.status_code == 200
    elements = Elements()
    elements.feed(response.get_data(as_text=True))
    return elements


def test_every_field_has_a_chinese_label(client):
    elements = page(client)
    fields = [attrs["id"] for tag, attrs in elements.tags if tag in ("input", "textarea", "select")]
    assert {"text", "lookup-number", "lookup-check"} <= set(fields)
    for field in fields:
        assert elements.labels.get(field), f"#{field} has no label"
    assert elements.labels["text"] == "请输入您要咨询或反映的事项"


def test_the_conversation_is_a_polite_live_region(client):
    tag, attrs = page(client).by_id("log")
    assert attrs["role"] == "log" and attrs["aria-live"] == "polite" and attrs["aria-label"]


def test_the_message_box_takes_at_most_2000_characters(client):
    tag, attrs = page(client).by_id("text")
    assert tag == "textarea" and attrs["maxlength"] == "2000"


def test_the_page_loads_nothing_from_elsewhere(client):
    elements = page(client)
    loaded = [attrs for tag, attrs in elements.tags if tag in ("script", "link")]
    sources = [attrs.get("src") or attrs.get("href") or "" for attrs in loaded]
    assert sources and all(s.startswith(("/static/webchat/", "data:")) for s in sources), sources
    for source in sources:
        if source.startswith("/"):
            with client.get(source) as response:
                assert response.status_code == 200, source
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp


def test_the_page_is_in_chinese_and_sized_for_phones(client):
    elements = page(client)
    [(_, html)] = [(tag, attrs) for tag, attrs in elements.tags if tag == "html"]
    assert html["lang"] == "zh-CN"
    viewports = [attrs["content"] for tag, attrs in elements.tags if attrs.get("name") == "viewport"]
    assert viewports and "width=device-width" in viewports[0]
