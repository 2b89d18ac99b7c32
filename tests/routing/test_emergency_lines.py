"""Which line an emergency goes to, what else applies, and what the citizen is told.

The primary line is the one with the most evidence (patterns, then the exemplars' vote); on a tie the
pack's order of lines decides. Utility lines (004 第十条(一)) come last and may have no number: the
citizen is then told how to reach them instead of being dialled through.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from intake.core.text import normalize
from intake.triage import Triage, emergency_step
from kb.encoders import get_encoder
from routing import policy as policies
from routing import rules
from routing.emergency import shared_detector
from routing.workdays import WorkdayCalendar

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
LONGSHENG = policies.load("longsheng")
GUIZHOU = policies.load("guizhou")


@pytest.fixture(scope="module")
def semantic():
    return shared_detector(get_encoder(None))


def lines(text: str, pack=LONGSHENG, semantic=None) -> tuple[str, ...]:
    found = rules.detect_emergency(normalize(text).match, pack, semantic)
    return found.lines if found else ()


@pytest.mark.parametrize(
    "text, expected",
    [
        # a fight that drew blood: the police first, the ambulance as well
        ("两伙人在烧烤摊打群架，有个人头都破了", ("110", "120")),
        # a crash with an injury: the traffic police first
        ("三轮车翻在路边了，开车的大爷头上一直流血", ("122", "120")),
        # someone buried by a collapse: fire rescue first
        ("后山塌方把牛棚压塌了，我爸还在里面没出来", ("119",)),
        # a threat of self-harm with a blade is a police matter even though 割腕 is medical too
        ("我弟弟拿着刀片说要割腕，把自己锁在房间里", ("110",)),
    ],
)
def test_the_primary_line_follows_the_packs_order(text, expected):
    assert lines(text)[: len(expected)] == expected


def test_the_exemplars_find_a_danger_no_pattern_names(semantic):
    text = "隔壁大爷家的阳台红通通一片，还有噼里啪啦的响声"
    assert rules.detect_emergency(normalize(text).match, LONGSHENG) is None or lines(text) == ("119",)
    assert lines(text, semantic=semantic)[0] == "119"


@pytest.mark.parametrize(
    "text",
    [
        "楼道里好多人推电动车进去充电，出了事就完了",  # a risk, not an event
        "建议在水库边多立几块防溺水的警示牌",  # a suggestion
        "交警在路口执勤的时候说话太冲了",  # a complaint about the police
        "我和老公吵架了，他回他妈家去了",  # a quarrel
    ],
)
def test_routine_messages_with_emergency_words_are_not_put_through(semantic, text):
    assert lines(text, semantic=semantic) == ()


@pytest.mark.parametrize(
    "text, expected",
    [
        # the poison named before or after the verb: both are someone who has swallowed it
        ("邻居大爷喝了百草枯，人在地上打滚", "120"),
        ("我妈把半瓶农药喝下去了", "120"),
        # what people see instead of the word: bleeding by amount, a scald, a fall from a height
        ("我老婆怀孕七个月了，刚上厕所出了好多血", "120"),
        ("孩子被热油烫了，手背上起了一大片泡", "120"),
        ("工人从脚手架上掉下来了", "120"),
        # 过去 as a direction is not the past: a ransom demand is still put through
        ("有人打电话说要我打十万过去，不然就撕票", "110"),
        # someone held against their will, said the other way round
        ("他们说不交钱就把我关在这里，手机都被拿走了", "110"),
        ("仓库窗户里冒出好多黑烟", "119"),
    ],
)
def test_dangers_described_without_the_usual_word_order_are_put_through(semantic, text, expected):
    assert lines(text, semantic=semantic)[0] == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("楼下隐患很大，现在着火了", "119"),
        ("上次那个人又拿着刀在楼下", "110"),
        ("我们天天吵架，他刚拿刀砍了我", "110"),
        ("我老公天天打我，现在又在打我", "110"),
    ],
)
def test_a_habit_risk_or_past_word_does_not_silence_what_is_happening_now(semantic, text, expected):
    """The routine guard (天天, 隐患, 上次…) must give way when the message says it is happening again."""
    assert lines(text, semantic=semantic)[0] == expected


def test_a_statement_of_fire_is_not_silenced_by_a_nearby_routine_question(semantic):
    # 着伙 is how a pinyin keyboard writes 着火; the sentence sits nearer the routine exemplars
    text = "饭店后厨着伙了，火苗窜得老高"
    nearest = semantic.nearest(normalize(text).match)
    assert semantic.reads_routine(nearest)
    assert lines(text, semantic=semantic)[0] == "119"
    # asked as a question about procedure, the same topic stays a routine matter
    assert lines("饭店后厨着火以后，重新开业要办什么手续吗", semantic=semantic) == ()


@pytest.mark.parametrize(
    "text",
    [
        "上次打120，救护车等了快一个小时才到",  # a past event, a complaint
        "前年家里着过一次火，房子的安全鉴定去哪里做",  # it happened once, before
        "孩子小时候被开水烫过，留了疤，能做修复手术吗",  # a scald, years ago
        "烫伤膏在哪里能买到",  # buying something
        "如果家里着火了，应该往楼上跑还是往楼下跑",  # a hypothetical question
        "交通事故认定书出来了，对方一直不赔钱",  # papers after the event
    ],
)
def test_past_hypothetical_and_paperwork_messages_are_not_put_through(semantic, text):
    assert lines(text, semantic=semantic) == ()


def reply(text: str, channel: str, pack=GUIZHOU) -> tuple[str, str]:
    triage = Triage(pack, WorkdayCalendar(pack.holidays), TZ)
    outcome = emergency_step(triage, triage.context(text, now=NOW, channel=channel, index=None, units=None))
    assert outcome is not None
    return outcome.transfer_to, outcome.reply


def test_004_第十条_一_a_utility_line_without_a_number_gives_its_guidance_on_every_channel():
    for channel in ("sms", "voice"):
        line, said = reply("我们小区从昨天晚上就停水了，到现在都没来", channel)
        assert line == "water"
        assert "供水企业的服务热线" in said and "转接" not in said


def test_004_第十条_一_a_utility_line_with_a_number_is_dialled_on_the_phone():
    line, said = reply("我们整栋楼停电了，电梯也停了", "voice")
    assert line == "power" and "转接95598供电服务热线" in said
    line, said = reply("我们整栋楼停电了，电梯也停了", "sms")
    assert "95598" in said and "转接" not in said


def test_other_lines_are_named_on_text_channels():
    line, said = reply("公交车刚撞了一个骑车的人，他头上一直在流血", "sms", LONGSHENG)
    assert line == "122"
    assert said.startswith("情况紧急！请立即拨打122交通事故报警") and "120医疗急救" in said


@pytest.mark.parametrize(
    "text, expected",
    [
        # a stove that will not light is not a fire (issue 21: 着火 matched inside 打不着火)
        ("燃气打不着火了", ()),
        ("煤气灶点不着火，是不是没气了", ()),
        # ...and the gas being out is not a person who stopped breathing
        ("液化气罐没气了，灶头一点火都没有", ()),
        # a person who stopped breathing still is, and a fire said to be there still is
        ("我爸倒在地上好像没气了", ("120",)),
        ("老人没气了快来", ("120",)),
        ("楼下着火了", ("119",)),
        ("他家燃气没气了，做不了饭", ()),
    ],
)
def test_words_that_only_look_like_an_emergency(text, expected):
    found = lines(text)
    assert found[:1] == expected  # the primary line, or none at all
