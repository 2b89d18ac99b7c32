"""A matter's facts read from the citizen's words (issue 16, item 2): phone numbers, the name the
citizen gives, when it happened, who is involved and where; and where they go on the ticket.

Each table holds realistic messages and, as important, messages that must give nothing: a wrong name
or phone on a ticket is worse than an empty field.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.models import Ticket
from intake.facts import chinese_number, citizen_name, event_date, event_time, extract, parties, phones, place

TOWNS = ("龙胜镇", "瓢里镇", "三门镇", "平等镇", "乐江镇", "龙脊镇", "泗水乡")
MONDAY = date(2026, 11, 23)  # the registration's local day in these tables


@pytest.mark.parametrize(
    "text, found",
    [
        ("我的电话是13800001234，路灯坏了", ["13800001234"]),
        ("手机 138 0000 1234", ["13800001234"]),
        ("联系电话：138-0000-1234", ["13800001234"]),
        ("+86 13912345678 是我的手机", ["13912345678"]),
        ("打0773-7512345找我", ["0773-7512345"]),
        ("座机07737512345", ["0773-7512345"]),
        ("家里电话020-12345678，手机15907731234", ["020-12345678", "15907731234"]),
        # not phone numbers
        ("查询 2611230007 1234", []),  # a ticket number and the last four digits
        ("身份证号450321199001011234", []),
        ("打了12345和110都没人管", []),
        ("欠了我12000元工资", []),
        ("2611230001号楼门口的路灯坏了", []),
        ("138000012345", []),  # twelve digits: a typo, not a number to call
        ("车牌桂C12345", []),
    ],
)  # fmt: skip
def test_phone_numbers_mobile_and_landline(text, found):
    assert phones(text) == found


@pytest.mark.parametrize(
    "text, name",
    [
        ("我叫张伟，电话13800001234", "张伟"),
        ("你好我叫李秀英，家住龙胜镇", "李秀英"),
        ("本人叫欧阳明，反映一个问题", "欧阳明"),
        ("我的名字是韦小宝", "韦小宝"),
        ("姓名：覃丽华 电话：13877312345", "覃丽华"),
        ("我姓王，楼下烧烤店太吵了", "姓王"),
        ("免贵姓欧阳", "姓欧阳"),
        ("我姓刘女士，电话13800001234", "刘女士"),
        ("我是王女士，超市卖过期牛奶", "王女士"),
        ("李先生，13800001234", "李先生"),
        ("麻烦尽快处理。陈女士", "陈女士"),
        # no name of the citizen
        ("我叫了120也没人来", None),
        ("我叫他们来修，一直不来", None),
        ("我叫张师傅来修，他说修不了", None),
        ("找了物业的李先生也不管", None),
        ("跟王女士说过了", None),
        ("老百姓办事太难了", None),
        ("我是高中生，学校乱收费", None),
        ("我是业主，物业不作为", None),
        ("李先生您好", None),
        ("我叫外卖送到小区", None),
        ("姓什么都不重要", None),
    ],
)  # fmt: skip
def test_the_name_the_citizen_gives_of_themselves(text, name):
    assert citizen_name(text) == name


@pytest.mark.parametrize(
    "text, words, day",
    [
        ("昨天晚上8点有人在河边倒垃圾", "昨天晚上8点", date(2026, 11, 22)),
        ("昨晚吵到半夜", "昨晚", date(2026, 11, 22)),
        ("前天下午停的电", "前天下午", date(2026, 11, 21)),
        ("今天早上水管爆了", "今天早上", MONDAY),
        ("上周三在超市买的", "上周三", date(2026, 11, 18)),
        ("上星期五发的工资少了", "上星期五", date(2026, 11, 20)),
        ("三天了没有水", "三天了", date(2026, 11, 20)),
        ("停水两天了", "两天了", date(2026, 11, 21)),
        ("5天前报的修", "5天前", date(2026, 11, 18)),
        ("11月20日邻居家开始装修", "11月20日", date(2026, 11, 20)),
        ("12月5号的事", "12月5号", date(2025, 12, 5)),  # a later day this year: last year's
        ("2026年10月1日晚上", "2026年10月1日晚上", date(2026, 10, 1)),
        ("路灯坏了一个多月了", "一个多月了", None),
        ("好几天了没人管", "好几天了", None),
        ("半年多了还没修好", "半年多了", None),
        ("每天晚上都在施工", "每天晚上", None),
        ("上个月交的钱", "上个月", None),
        ("几天前就说了", "几天前", None),
        ("晚上10点以后还在唱歌", "晚上10点", None),
        # no time of the event
        ("请三天内答复我", None, None),
        ("幸福小区3号楼门口的路灯坏了", None, None),
        ("社保卡丢了怎么办", None, None),
        ("工作日几点上班", None, None),
    ],
)  # fmt: skip
def test_time_expressions_and_the_day_they_name(text, words, day):
    assert event_time(text) == words
    assert event_date(words, MONDAY) == day


def test_this_weeks_day_still_to_come_names_no_day():
    assert event_date("本周五", MONDAY) is None
    assert event_date("本周一", MONDAY) == MONDAY


@pytest.mark.parametrize(
    "word, number",
    [("3", 3), ("三", 3), ("两", 2), ("十", 10), ("十二", 12), ("二十", 20), ("二十五", 25), ("几", None)],
)
def test_chinese_numbers(word, number):
    assert chinese_number(word) == number


@pytest.mark.parametrize(
    "text, found",
    [
        ("我在华润万家超市买的牛奶过期了", "华润万家超市"),
        ("桂林某某建筑工程有限公司拖欠工资三个月", "桂林某某建筑工程有限公司"),
        ("昨天晚上8点桂林某某建筑工程有限公司的工地在施工", "桂林某某建筑工程有限公司"),
        ("楼下烧烤店每天晚上吵到两点", "楼下烧烤店"),
        ("邻居装修噪音很大", "邻居"),
        ("房东不退押金", "房东"),
        ("物业不管，开发商也不管", "物业、开发商"),
        ("隔壁养猪场臭得很", "隔壁养猪场"),
        ("龙胜镇阳光幼儿园乱收费", "龙胜镇阳光幼儿园"),
        ("中国移动营业厅多扣话费", "中国移动营业厅"),
        # nobody besides the citizen
        ("这家店卖假货", None),
        ("我在公司上班，路上的灯坏了", None),
        ("路灯坏了一个多月了", None),
        ("社保卡丢了怎么办", None),
    ],
)  # fmt: skip
def test_parties_shops_companies_and_people_by_their_role(text, found):
    assert parties(text) == found


@pytest.mark.parametrize(
    "text, found",
    [
        ("瓢里镇瓢里街的路灯坏了一个多月了", "瓢里镇瓢里街"),
        ("龙胜镇桂石路和新华路交叉口", "龙胜镇桂石路和新华路交叉口"),
        ("平等镇龙坪村5组的自来水停了好几天了", "平等镇龙坪村5组"),
        ("我家住在西门村，隔壁养猪场臭得很", "西门村"),
        ("上周三我在幸福小区3栋门口摔倒了", "幸福小区3栋门口"),
        ("桂石路有个井盖丢了", "桂石路"),
        ("你好，三门镇政府门口有人乱摆摊", "三门镇政府门口"),
        # no place
        ("路灯坏了一个多月了，晚上走路很危险，一直没人管", None),
        ("马路上有个大坑", None),
        ("这条路太烂了", None),
        ("有人在河边偷排污水", None),
        ("社保卡丢了怎么办", None),
    ],
)  # fmt: skip
def test_the_place_named(text, found):
    assert place(text, TOWNS) == found


def test_extract_gives_every_fact_at_once():
    facts = extract(
        "我叫张伟，电话13800001234，昨天晚上瓢里镇瓢里街的烧烤店吵到半夜", towns=TOWNS, today=MONDAY
    )
    assert (facts.name, facts.phone, facts.event_time, facts.event_date) == (
        "张伟", "13800001234", "昨天晚上", date(2026, 11, 22)
    )  # fmt: skip
    assert facts.place == "瓢里镇瓢里街" and facts.parties == "烧烤店"


# ---------------------------------------------------------------- where they go on the ticket


def ticket_of(hotline, number: str) -> Ticket:
    with hotline.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        session.expunge_all()
        return ticket


def test_a_web_ticket_records_the_facts_of_its_first_message(demo):
    text = "我叫张伟，电话13800001234，昨天晚上瓢里镇瓢里街的烧烤店吵到半夜，天天这样"
    outcome = demo.handle(Message(channel="web", sender="web-facts", text=text))
    assert outcome.action == "ticket", outcome.reply
    ticket = ticket_of(demo, outcome.ticket.number)
    assert ticket.text == text  # the course: the citizen's own words
    assert ticket.citizen_name == "张伟" and ticket.contact_phone == "13800001234"
    assert (ticket.event_time, ticket.event_date) == ("昨天晚上", date(2026, 11, 22))
    assert ticket.parties == "烧烤店" and ticket.location == "瓢里镇瓢里街"
    assert ticket.contact_consent is None  # not asked


def test_a_place_named_in_the_first_message_is_the_tickets_location(demo):
    outcome = demo.handle(
        Message(channel="web", sender="web-place", text="平等镇龙坪村5组的自来水停了好几天了")
    )
    assert outcome.action == "ticket", outcome.reply
    assert ticket_of(demo, outcome.ticket.number).location == "平等镇龙坪村5组"


@pytest.mark.parametrize(
    "channel, sender, text, phone",
    [
        ("sms", "+8613912345678", "幸福小区3号楼门口的路灯坏了一个星期了", "+8613912345678"),
        ("sms", "+8613912345678", "幸福小区3号楼门口的路灯坏了，联系我女儿13600001111", "13600001111"),
        ("voice", "+8613912345678", "幸福小区3号楼门口的路灯坏了一个星期了", "+8613912345678"),
        ("web", "web-nophone", "幸福小区3号楼门口的路灯坏了一个星期了", None),
        ("wechat", "oWx-openid-1", "幸福小区3号楼门口的路灯坏了一个星期了", None),
    ],
)  # fmt: skip
def test_the_contact_phone_of_a_call_or_sms_is_the_caller_id_unless_another_is_given(
    demo, channel, sender, text, phone
):
    outcome = demo.handle(Message(channel=channel, sender=sender, text=text))
    assert outcome.action == "ticket", outcome.reply
    assert ticket_of(demo, outcome.ticket.number).contact_phone == phone


def test_the_place_given_in_answer_fills_the_pending_matter_with_its_facts(demo):
    first = demo.handle(
        Message(channel="web", sender="web-follow", text="路灯坏了一个多月了，晚上走路很危险，一直没人管")
    )
    assert first.action == "ask"
    second = demo.handle(Message(channel="web", sender="web-follow", text="龙胜镇桂石路和新华路交叉口"))
    assert second.action == "ticket", second.reply
    with demo.db.session() as session:
        rows = session.scalars(select(Ticket)).all()
        assert len(rows) == 1  # one matter, not two
        ticket = rows[0]
        assert ticket.location == "龙胜镇桂石路和新华路交叉口"
        assert ticket.event_time == "一个多月了"
