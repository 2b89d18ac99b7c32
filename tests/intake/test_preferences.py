"""Contact preferences: 退订 stops survey messages on that channel, 订阅 starts them again; 电话回访 asks
for surveys by phone, 短信回访 goes back to texts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.core.models import ContactPreference
from intake.core.preferences import (
    opt_in,
    opt_out,
    prefer_calls,
    prefer_sms,
    preference_command,
    prefers_calls,
    wants_surveys,
)

PHONE = "+8613912345678"


@pytest.mark.parametrize(
    "text, command",
    [
        ("退订", "opt_out"),
        ("TD", "opt_out"),
        ("ｔｄ", "opt_out"),  # full-width, as some phones type it
        (" Stop ", "opt_out"),
        ("取消。", "opt_out"),
        ("订阅", "opt_in"),
        ("START", "opt_in"),
        ("start!", "opt_in"),
        ("电话回访", "prefer_calls"),
        ("请电话回访。", "prefer_calls"),
        ("要电话", "prefer_calls"),
        ("给我打电话", "prefer_calls"),
        ("短信回访", "prefer_sms"),
        ("不要电话", "prefer_sms"),
        ("电话回访一下我的投诉", None),  # a matter
        ("电话", None),
        ("取消我昨天的投诉", None),  # a matter, not a command
        ("退订了还在发短信，投诉", None),
        ("stop the noise", None),
        ("1", None),
        ("", None),
    ],
)
def test_only_the_keyword_on_its_own_is_a_command(text, command):
    assert preference_command(text) == command


def test_opting_out_and_back_in(hotline, clock):
    with hotline.db.session() as session:
        assert wants_surveys(session, "sms", PHONE)  # nobody asked anything yet
        opt_out(session, "sms", PHONE, clock())
        session.commit()
        assert not wants_surveys(session, "sms", PHONE)
        assert wants_surveys(session, "wechat", PHONE)  # per channel
        assert wants_surveys(session, "sms", "+8613900000000")
        opt_in(session, "sms", PHONE, clock())
        session.commit()
        assert wants_surveys(session, "sms", PHONE)


def test_repeating_a_command_keeps_one_row(hotline, clock):
    with hotline.db.session() as session:
        for _ in range(3):
            opt_out(session, "sms", PHONE, clock())
            session.commit()
        assert session.scalar(select(func.count()).select_from(ContactPreference)) == 1
        row = session.scalars(select(ContactPreference)).one()
        assert row.no_surveys and row.updated_at == clock()


def test_the_latest_wish_about_calls_wins(hotline, clock):
    with hotline.db.session() as session:
        assert not prefers_calls(session, "sms", PHONE)
        opt_out(session, "sms", PHONE, clock())
        prefer_calls(session, "sms", PHONE, clock())  # 退订 the texts, then 电话回访: call me
        session.commit()
        assert prefers_calls(session, "sms", PHONE) and not wants_surveys(session, "sms", PHONE)
        opt_out(session, "sms", PHONE, clock())  # 退订 again: leave me alone
        session.commit()
        assert not prefers_calls(session, "sms", PHONE)
        prefer_calls(session, "sms", PHONE, clock())
        prefer_sms(session, "sms", PHONE, clock())
        session.commit()
        assert not prefers_calls(session, "sms", PHONE)
