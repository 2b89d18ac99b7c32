"""Knowledge gaps: consultations no entry answered are logged and grouped, most-asked first."""

from __future__ import annotations

from datetime import timedelta

from intake.core.messages import Message
from kb.gaps import grouped_gaps

PRICE = ["马堤乡的芋头收购价今年是多少?", "今年马堤芋头收购价格多少钱一斤?", "马堤乡芋头现在收购价多少?"]
LAND = ["请问县里的征地补偿标准是多少?"]


def test_unanswered_consultations_are_grouped_most_asked_first(demo, cli):
    for i, text in enumerate(PRICE + LAND):
        outcome = demo.handle(Message(channel="web", sender=f"g{i}", text=text))
        assert outcome.action == "ticket" and outcome.category == "consult", (text, outcome.action)
    demo.handle(Message(channel="web", sender="g9", text="社保卡丢了咋办"))  # answered: no gap
    demo.handle(
        Message(channel="web", sender="g8", text="瓢里镇瓢里街的路灯坏了一个多月了")
    )  # not a consultation
    with demo.db.session() as session:
        groups = grouped_gaps(session, demo.encoder, demo.clock() - timedelta(days=1))
    assert [g.count for g in groups] == [3, 1]
    assert groups[0].question == PRICE[0] and set(groups[0].examples) == set(PRICE)
    out = cli("kb", "gaps", "--days", "3650").stdout  # the CLI runs on the real clock
    assert "×3" in out and PRICE[0] in out and LAND[0] in out


def test_no_gaps_says_so(cli, demo):
    assert "no unanswered consultations" in cli("kb", "gaps").stdout
