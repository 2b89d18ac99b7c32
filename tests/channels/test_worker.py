"""The background worker: one pass runs every job; a failing job does not stop the others."""

from __future__ import annotations

import pytest

from channels.senders import build_senders
from channels.worker import Worker
from intake.core.config import Settings
from intake.hotline import Hotline
from tests.conftest import _empty_tables
from tests.fakes import fake_twilio

JOBS = ("spool", "outbox", "sweep", "surveys", "handoffs", "reminders", "cards", "callbacks", "knowledge")


@pytest.fixture
def twilio_api():
    server = fake_twilio()
    yield server
    server.close()


@pytest.fixture
def sms_hotline(settings, clock, twilio_api):
    env = {
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
        "TWILIO_ACCOUNT_SID": "AC123",
        "TWILIO_AUTH_TOKEN": "secret",
        "HOTLINE_PUBLIC_URL": "http://localhost",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": twilio_api.url,
    }
    hotline = Hotline(Settings.from_env(env), clock=clock)
    _empty_tables(hotline.db)
    yield hotline
    hotline.db.dispose()


def test_a_pass_sends_what_the_outbox_owes(sms_hotline, twilio_api):
    with sms_hotline.db.session() as session:
        sms_hotline.outbox.enqueue(
            session, key="k1", channel="sms", recipient="+8613912345678", body="您的工单号是2611230001。"
        )
        session.commit()
    worker = Worker(sms_hotline, build_senders(sms_hotline.settings))
    assert worker.run_once() == dict.fromkeys(JOBS, 0) | {"outbox": 1}
    assert [r.form["Body"] for r in twilio_api.sent("/Messages.json")] == ["您的工单号是2611230001。"]
    assert worker.run_once()["outbox"] == 0


def test_a_failing_job_is_reported_and_the_others_still_run(sms_hotline):
    ran = []

    def broken() -> int:
        raise RuntimeError("database went away")

    worker = Worker(sms_hotline, jobs={"broken": broken, "other": lambda: ran.append(1) or 1})
    assert worker.run_once() == {"broken": -1, "other": 1}
    assert ran == [1]


def test_the_command_runs_one_pass(cli):
    result = cli("worker", "--once")
    assert result.exit_code == 0
    assert result.output.split() == [f"{job}=0" for job in JOBS]
