"""Fuzzing every JSON endpoint with generated bodies (issue 17): whatever arrives, the answer is never a
500 and never a traceback, nothing is stored half, and the service is still healthy afterwards.

Hypothesis builds the bodies: valid-looking objects with the fields each endpoint reads, holding
strings with lone surrogates, NUL and controls, huge and negative numbers, wrong types, deep nesting,
and raw bytes that are not UTF-8. The budget is bounded (``MAX_EXAMPLES`` per endpoint) so CI stays
quick; raise it locally with ``HOTLINE_FUZZ_EXAMPLES``.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import create_app
from intake.core.models import InboundMessage
from intake.core.staff import add_user
from intake.core.staff_tokens import issue_token
from routing.handoff import issue_token as unit_token
from tests.channels.machine.test_kb_api import PASSWORD

MAX_EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same bodies on every run: a failure in CI is a failure here
)

nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["\ud800", "a\udfffb", "\x00", "社保\x00卡", "\x1b[31m", "=cmd|' /C calc'!A0", "x" * 20_000]
    ),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(allow_nan=False),
    nasty_text,
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=12,
)


def objects(*fields: str):
    """Dicts with the fields an endpoint reads, each any value, plus stray keys."""
    return st.fixed_dictionaries({}, optional={f: values for f in fields}).flatmap(
        lambda known: st.dictionaries(nasty_text, values, max_size=3).map(lambda extra: {**extra, **known})
    )


def encoded(strategy):
    """A body as bytes: the JSON of a generated value, or bytes that may not be JSON or UTF-8 at all."""
    return st.one_of(
        strategy.map(lambda v: json.dumps(v).encode()),  # ensure_ascii: surrogates as \\ud800 escapes
        st.binary(max_size=64),
        st.integers(min_value=1, max_value=5_000).map(lambda n: b"[" * n + b"]" * n),
    )


@pytest.fixture
def fuzzed(demo):
    """The app with a staff token and a unit token, and a dispatched ticket to act on."""
    from intake.core.messages import Message

    with demo.db.session() as session:
        add_user(session, "fuzz_admin", PASSWORD, "admin", demo.clock())
        staff = issue_token(session, "fuzz_admin", demo.clock(), label="fuzz")
        unit = unit_token(session, "office", demo.clock())
        session.commit()
    outcome = demo.handle(
        Message(channel="sms", sender="+8613912345678", text="路灯坏了一个星期了，在龙胜镇桂石路")
    )
    app = create_app({"hotline": demo, "TESTING": True})
    return (
        app.test_client(),
        {"Authorization": f"Bearer {staff}"},
        {"Authorization": f"Bearer {unit}"},
        outcome,
    )


def no_crash(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert b"Traceback" not in response.data


ENDPOINTS = [
    ("/api/v1/triage", None, ("text",)),
    ("/api/v1/messages", None, ("channel", "sender", "text", "message_id")),
    ("/api/v1/kb/entries", "staff", ("unit", "question", "answer", "alt_questions", "keywords", "service")),
    ("/api/v1/kb/import", "staff", ("format", "entries")),
    ("/api/v1/kb/questions", "staff", ("kind", "entry", "unit", "topic", "comment")),
    ("/api/v1/kb/preview", "staff", ("question", "answer", "alt_questions", "tests")),
    ("/api/v1/unit/tickets/{number}/sign", "unit", ("version",)),
    ("/api/v1/unit/tickets/{number}/return", "unit", ("reason", "basis", "version")),
    ("/api/v1/unit/tickets/{number}/extension", "unit", ("reason", "until", "version")),
    ("/api/v1/unit/tickets/{number}/reply", "unit", ("handled_at", "handler", "result", "legal_basis")),
]  # fmt: skip


@pytest.mark.parametrize("path, who, fields", ENDPOINTS, ids=[e[0].split("/v1/")[1] for e in ENDPOINTS])
def test_no_generated_body_gets_a_500(fuzzed, demo, path, who, fields):
    client, staff, unit, outcome = fuzzed
    headers = {"staff": staff, "unit": unit}.get(who, {})
    url = path.format(number=outcome.ticket.number)

    @FUZZ
    @given(body=encoded(objects(*fields)))
    def run(body: bytes) -> None:
        no_crash(client.post(url, data=body, content_type="application/json", headers=headers))

    run()
    assert client.get("/healthz").status_code == 200
    with demo.db.session() as session:  # nothing stored half: every message that got in was processed
        statuses = {m.status for m in session.scalars(select(InboundMessage))}
    assert statuses <= {"processed"}


# a query string reaches us as bytes: percent-escapes of anything, including what is not UTF-8
query_bytes = st.lists(
    st.tuples(st.sampled_from(["q", "check", "sender", "limit", "page"]), st.binary(max_size=12)), max_size=3
).map(lambda pairs: "&".join(f"{k}={quote_from_bytes(v)}" for k, v in pairs))


@FUZZ
@given(query=st.one_of(query_bytes, st.sampled_from(["q=%ED%A0%80", "q=%00", "limit=99999999999999999999"])))
def test_no_generated_query_string_gets_a_500(fuzzed, query):
    client, staff, _, outcome = fuzzed
    for path in ("/kb", "/api/v1/kb/search", f"/api/v1/tickets/{outcome.ticket.number}"):
        no_crash(client.get(f"{path}?{query}"))
    no_crash(client.get(f"/api/v1/kb/entries?{query}", headers=staff))
