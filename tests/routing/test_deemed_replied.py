"""000 第十七条: 承办单位工作人员连续2天拨打诉求人联系电话（手机）均未果的，视为已答复; every contact time is
kept. Under wengyuan a unit's reply may list its vain calls (``contact_attempts``); on two consecutive
days they count as the reply to the citizen. Other packs keep the times without that meaning."""

from __future__ import annotations

import pytest

from routing.replies import InvalidInput
from tests.routing.lifecycle_world import REPLY

MON_AM, MON_PM, TUE_AM, WED_AM = (
    "2026-11-23T11:00+08:00", "2026-11-23T16:00+08:00", "2026-11-24T09:30+08:00", "2026-11-25T09:30+08:00",
)  # fmt: skip


def signed(w) -> str:
    w.at("11-23 10:00")
    number = w.register(category="consult")
    w.at("11-23 10:30")
    w.act(number, "sign")
    w.at("11-25 10:00")
    return number


# pack, contact times, what the reply records (deemed_replied) or the refusal's words
ROWS = [
    ("wengyuan", [MON_AM, MON_PM, TUE_AM], "000 第十七条"),
    ("wengyuan", [MON_AM, TUE_AM, WED_AM], "000 第十七条"),
    ("wengyuan", [MON_AM, MON_PM], InvalidInput("contact_attempts", "不足连续2天")),  # one day only
    ("wengyuan", [MON_AM, WED_AM], InvalidInput("contact_attempts", "不足连续2天")),  # not consecutive
    ("wengyuan", ["2026-11-23"], InvalidInput("contact_attempts", "具体到分钟")),
    ("wengyuan", ["2026-11-22T09:00+08:00"], InvalidInput("contact_attempts", "工单登记之后")),
    ("wengyuan", ["2026-11-26T09:00+08:00"], InvalidInput("contact_attempts", "现在之前")),
    ("pingli", [MON_AM, TUE_AM], None),  # 002 has no such rule: the times are kept, nothing is deemed
]


@pytest.mark.parametrize("pack, attempts, expected", ROWS)
def test_vain_calls_on_consecutive_days_count_as_the_reply(world, pack, attempts, expected):
    w = world(pack)
    number = signed(w)
    reply = REPLY | {"handled_at": "2026-11-25", "case_date": "2026-11-25", "contact_attempts": attempts}
    if isinstance(expected, InvalidInput):
        with pytest.raises(InvalidInput) as refused:
            w.act(number, "reply", reply=reply)
        assert refused.value.field == "contact_attempts" and expected.message in refused.value.message
        assert w.ticket(number).status == "signed"  # nothing applied
        return
    w.act(number, "reply", reply=reply)
    stored = w.ticket(number).reply
    assert stored.get("deemed_replied") == expected
    assert [t[:16] for t in stored["contact_attempts"]] == sorted(a[:16] for a in attempts)
