"""Contact preferences: 退订 stops survey messages on that channel, 订阅 starts them again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.models import ContactPreference
from intake.preferences import opt_in, opt_out, preference_command, wants_surveys

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
