"""The matter's facts in the unit API and the webhook (issue 16): name, contact phone, time, parties and
the confidentiality choice, with the citizen's identity taken out of a confidential ticket."""

from __future__ import annotations

import json

import pytest

from intake.core.messages import Message
from tests.channels.machine.test_unit_api import api, token_for, world  # noqa: F401  (fixtures)
from tests.routing.test_handoff import Receiver, connect

FACTS = ("citizen_name", "contact_phone", "event_time", "event_date", "parties", "contact_consent")
PHONE = "+8613912345678"


def reported(deployment, text: str, sender: str = PHONE) -> tuple[str, str]:
    outcome = deployment.hotline.handle(Message(channel="sms", sender=sender, text=text))
    assert outcome.action == "ticket", outcome.reply
    return outcome.ticket.number, outcome.ticket.unit


@pytest.mark.parametrize(
    "text, shown",
    [
        (
            "我叫张伟，电话13800001234，昨天晚上瓢里镇瓢里街的烧烤店吵到半夜",
            {"citizen_name": "张伟", "contact_phone": "13800001234", "event_time": "昨天晚上",
             "event_date": "2026-11-22", "parties": "烧烤店", "contact_consent": None},
        ),
        (
            "瓢里镇瓢里街菜市场门口的路灯坏了三天了",
            {"citizen_name": None, "contact_phone": PHONE, "event_time": "三天了", "event_date": "2026-11-20",
             "parties": None, "contact_consent": None},
        ),
        (  # confidential (请为我保密): no name, no phone; the parties' text redacted as the text is
            "我叫张伟，电话13800001234，瓢里镇瓢里街18号楼下烧烤店昨晚吵到半夜，请为我保密",
            {"citizen_name": None, "contact_phone": None, "event_time": "昨晚", "event_date": "2026-11-22",
             "parties": "楼下烧烤店", "contact_consent": None},
        ),
    ],
)  # fmt: skip
def test_the_unit_api_shows_the_facts_as_the_pack_allows(api, world, text, shown):  # noqa: F811
    number, unit = reported(world, text)
    headers = {"Authorization": f"Bearer {token_for(world, unit)}"}
    ticket = api.get(f"/api/v1/unit/tickets/{number}", headers=headers).get_json()
    assert {k: ticket[k] for k in FACTS} == shown
    if ticket["confidential"]:
        body = json.dumps(ticket, ensure_ascii=False)
        for leaked in ("张伟", "13800001234", PHONE, "18号"):
            assert leaked not in body


def test_the_webhook_carries_the_facts_and_a_confidential_one_hides_who(world):  # noqa: F811
    plain, unit = reported(world, "我姓王，瓢里镇瓢里街的超市昨天卖过期牛奶", sender="+8613900000001")
    secret, _ = reported(
        world, "我叫李秀英，瓢里镇瓢里街的超市昨天卖过期牛奶，请为我保密", sender="+8613900000002"
    )
    with Receiver() as receiver:
        connect(world, unit, receiver.url)
        world.flow.deliver_handoffs()
    sent = {
        r["body"] and json.loads(r["body"])["ticket"]["number"]: json.loads(r["body"])
        for r in receiver.requests
    }
    shown, hidden = sent[plain]["ticket"], sent[secret]["ticket"]
    assert (shown["citizen_name"], shown["contact_phone"]) == ("姓王", "+8613900000001")
    assert (hidden["citizen_name"], hidden["contact_phone"], hidden["citizen"]) == (None, None, None)
    assert hidden["event_time"] == shown["event_time"] == "昨天"
    assert "李秀英" not in json.dumps(hidden, ensure_ascii=False)
