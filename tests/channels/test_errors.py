"""When something fails inside, each medium gets its own format and no reply claims what did not happen
(issue 17): "recorded" only when the message was stored, TwiML for Twilio, ``success`` for WeChat."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import create_app
from channels.errors import KEPT, NOT_KEPT, SPOOLED, SPOOLED_CHAT, VOICE_DOWN, apology
from channels.twiml import digits_aloud
from intake.conversations import Conversations
from intake.core.models import InboundMessage
from routing.policy import load
from tests.channels.test_sms import Phone, twiml_messages
from tests.channels.test_sms import sms_hotline as sms_hotline  # noqa: F401  (fixture)


def database_down(*args, **kwargs):
    raise OperationalError("INSERT INTO inbound_messages", {}, ConnectionRefusedError("database down"))


def pipeline_fails(*args, **kwargs):
    raise RuntimeError("a bug in a step")


@pytest.fixture
def failing_app(sms_hotline):  # noqa: F811
    app = create_app({"hotline": sms_hotline, "TESTING": True})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does, through the 500 handler
    return app


def test_the_json_api_says_recorded_when_it_was_stored_then_failed(failing_app, sms_hotline, monkeypatch):  # noqa: F811
    monkeypatch.setattr(Conversations, "_process", pipeline_fails)
    response = failing_app.test_client().post(
        "/api/v1/messages", json={"channel": "web", "sender": "web-err", "text": "路灯坏了"}
    )
    assert response.status_code == 500 and response.json == {"error": apology(KEPT, sms_hotline.policy)}
    with sms_hotline.db.session() as session:
        assert [r.status for r in session.scalars(select(InboundMessage))] == ["failed"]


def test_during_an_outage_the_json_api_says_kept_and_gives_the_id_to_ask_again_with(
    failing_app, sms_hotline, monkeypatch
):  # noqa: F811
    monkeypatch.setattr(Conversations, "_store", database_down)
    client = failing_app.test_client()
    response = client.post(
        "/api/v1/messages", json={"channel": "web", "sender": "web-err", "text": "路灯坏了"}
    )
    assert response.status_code == 503
    assert (
        response.json["error"] == apology(SPOOLED_CHAT, sms_hotline.policy) and response.json["kept"] is True
    )
    assert response.json["message_id"].startswith("spool:")
    mine = {"channel": "api", "sender": "app-1", "text": "路灯坏了", "message_id": "m-7"}
    assert client.post("/api/v1/messages", json=mine).json["message_id"] == "m-7"
    assert sms_hotline.spool.count() == 2


def test_when_the_spool_cannot_keep_it_either_the_reply_says_it_was_not_saved(
    failing_app, sms_hotline, monkeypatch
):  # noqa: F811
    monkeypatch.setattr(Conversations, "_store", database_down)
    sms_hotline.settings.instance_path.mkdir(parents=True, exist_ok=True)
    (sms_hotline.settings.instance_path / "spool").write_text("a file where the folder should be")
    response = failing_app.test_client().post(
        "/api/v1/messages", json={"channel": "web", "sender": "web-err", "text": "路灯坏了"}
    )
    assert response.status_code == 500 and response.json == {"error": apology(NOT_KEPT, sms_hotline.policy)}
    assert Phone(failing_app.test_client()).send("路灯坏了") == [apology(NOT_KEPT, sms_hotline.policy)]


def test_sms_during_an_outage_gets_twiml_that_says_it_was_kept(failing_app, sms_hotline, monkeypatch):  # noqa: F811
    monkeypatch.setattr(Conversations, "_store", database_down)
    response = Phone(failing_app.test_client()).post(Phone(None).params("路灯坏了"))
    assert response.status_code == 200
    assert twiml_messages(response) == [apology(SPOOLED, sms_hotline.policy)]
    assert sms_hotline.spool.count() == 1


def test_a_page_that_fails_answers_in_chinese_without_a_traceback(failing_app, monkeypatch):
    from kb.search import KnowledgeBase

    monkeypatch.setattr(KnowledgeBase, "refresh", pipeline_fails)
    response = failing_app.test_client().get("/kb", query_string={"q": "社保卡"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "系统暂时出现故障" in body and "Traceback" not in body and "RuntimeError" not in body


@pytest.mark.parametrize(
    ("pack", "said"),
    [
        ("longsheng", "110、119、122、120"),
        ("liaoyang", "110、119、120"),  # 001 第七条(三) "110、120等": 119 too, a crash goes to 110
        ("guizhou", "110、119、120"),  # its utility lines (water, power…) have no number to say
        ("pingli", "110、119、122、120、96333"),
    ],
)
def test_an_apology_names_the_packs_own_emergency_numbers(pack, said):
    policy = load(pack)
    assert apology(NOT_KEPT, policy).endswith(f"紧急情况请直接拨打{said}。")
    spoken = "、".join(digits_aloud(number) for number in said.split("、"))
    assert apology(VOICE_DOWN, policy, aloud=True).endswith(f"紧急情况请直接拨打{spoken}。")
    assert "water" not in apology(SPOOLED, policy)
