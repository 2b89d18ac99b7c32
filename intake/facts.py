"""A matter's facts read from the citizen's own words (issue 16, item 2): the contact phone, the name
the citizen gives, when it happened, who is involved and where.

An operator writes these down while listening; here they are read from the text first so the citizen
is asked only for what is still missing (``intake.gathering``). Every reader errs on the side of
finding nothing: a wrong name or phone on a ticket is worse than an empty field the operator asks for.
Plain functions on the text, no database, no policy object (the towns and place cues are passed in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

HAN = r"\u4e00-\u9fff"


@dataclass(frozen=True)
class Facts:
    """What the text says of the matter; ``None`` where it says nothing (or nothing certain)."""

    name: str | None = None
    phone: str | None = None
    event_time: str | None = None
    event_date: date | None = None
    parties: str | None = None
    place: str | None = None


# ---------------------------------------------------------------- phone numbers

# A mobile number (11 digits from 13 to 19, maybe +86 and dashes or spaces in 3-4-4), or a landline with
# its area code (0 + 2-3 digits, then 7-8 digits). Ticket numbers (10 digits from 2), ID numbers (18) and
# short service numbers (12345, 110) never match: the digits either side must not be digits.
_MOBILE = re.compile(r"(?<![\d])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![\d])")
_LANDLINE = re.compile(r"(?<![\d])(0\d{2,3})[- ]?(\d{7,8})(?![\d])")


def phones(text: str) -> list[str]:
    """Every phone number in ``text``, in the order given, written as digits (landlines ``0773-1234567``)."""
    found: list[tuple[int, str]] = []
    for m in _MOBILE.finditer(text):
        found.append((m.start(), "".join(m.groups())))
    taken = [m.span() for m in _MOBILE.finditer(text)]
    for m in _LANDLINE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        found.append((m.start(), f"{m.group(1)}-{m.group(2)}"))
    return [number for _, number in sorted(found)]


# ---------------------------------------------------------------- the citizen's name

# Common surnames (the hundred most frequent, and the frequent double ones). A name must start with one:
# this is what keeps "我叫了120" or "我叫他们来" from becoming names.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "蒙农银粟"
)
DOUBLE_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "令狐", "慕容")
_SURNAME = "(?:" + "|".join(DOUBLE_SURNAMES) + f"|[{SURNAMES}])"
# What may follow a name the citizen gives: punctuation, the end, or the next thing they say of themselves.
_AFTER = r"(?=$|[\s，,。.！!？?；;、:：（(]|电话|手机|联系|号码|住|家住|今年|是|在|想|要|反映|投诉|咨询)"
# Words that read like a given name but are not one ("我叫张师傅来修", "我姓王的邻居")
_NOT_GIVEN = re.compile(r"(师傅|老师|经理|老板|医生|大夫|警官|主任|书记|局长|村长|同学|阿姨|叔叔|大爷)$")
_FULL = re.compile(
    rf"(?:我叫|我名叫|本人叫|我的名字[是叫]|名字[是叫]|姓名[是为:：]?\s*|联系人[是为:：]?\s*)"
    rf"({_SURNAME}[{HAN}]{{1,2}}?){_AFTER}"
)
_TITLED = re.compile(
    rf"(?:^|我是|本人是?|联系人[是为:：]?\s*|[，,。\s])({_SURNAME})(先生|女士|小姐)(?=$|[^{HAN}]|电话|手机)"
)
_SURNAME_ONLY = re.compile(
    rf"(?:我姓|本人姓|免贵姓|贵姓|^姓|[，,。\s]姓)({_SURNAME})(先生|女士)?(?=$|[^{HAN}]|电话|手机|联系|的?号码)"
)


def citizen_name(text: str) -> str | None:
    """The name the citizen gives of themselves: a full name, or ``王先生`` / ``姓王`` when only the
    surname is said. Names of other people ("物业的李经理", "找了王先生") are not the citizen's."""
    if (m := _FULL.search(text)) and not _NOT_GIVEN.search(m.group(1)):
        return m.group(1)
    m = _TITLED.search(text)
    # "，李先生也不管" after "找了物业的": someone else; "我是王女士" or a signature "…。王女士": the citizen
    if m and not (m.group(0)[:1] in "，,。 " and _mentions_other(text[: m.start(1) - 1])):
        return m.group(1) + m.group(2)
    if m := _SURNAME_ONLY.search(text):
        return m.group(1) + m.group(2) if m.group(2) else "姓" + m.group(1)
    return None


def _mentions_other(before: str) -> bool:
    """Whether what precedes ``X先生`` is about someone else (找了, 联系了, 物业的…)."""
    return bool(re.search(r"(找|联系|问|告诉|打给|通知|和|跟|的)\s*$", before))


# ---------------------------------------------------------------- when it happened

_NUM = "零一二两三四五六七八九十百几0-9"
_DAYPART = "(?:早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|凌晨|夜间)"
_CLOCK = rf"(?:[{_NUM}]{{1,3}}点(?:半|多|钟|左右|[{_NUM}]{{1,2}}分?)?)"
_WEEKDAY = "[一二三四五六日天1-7]"
_TIME_PATTERNS = (
    # an absolute date: 2026年11月20日, 11月20号, 11月20日晚上8点
    rf"(?:\d{{4}}年)?[{_NUM}]{{1,2}}月[{_NUM}]{{1,3}}[日号](?:{_DAYPART})?{_CLOCK}?",
    # a day named relative to today, maybe with the part of the day and the hour
    rf"(?:大前天|前天|昨天|昨日|今天|今日|今早|昨晚|今晚|前晚|刚才|刚刚)(?:{_DAYPART})?{_CLOCK}?",
    rf"(?:上周|上星期|上礼拜|这周|本周|这星期|本星期){_WEEKDAY}(?:{_DAYPART})?{_CLOCK}?",
    r"(?:上周|上星期|上礼拜|上个月|上月|这个月|本月|去年|前几天|最近|这几天|近期)",
    # how long it has lasted, or how long ago: 三天了, 一个多月了, 两周前, 半年多了
    rf"(?:[{_NUM}]{{1,3}}|半)(?:多)?个?(?:多)?(?:天|日|周|星期|礼拜|月|年)(?:多)?(?:了|前|以前|之前)",
    r"好几(?:天|个月|年)了",
    # a habit at a time of day: 每天晚上, 天天半夜
    rf"(?:每天|每晚|天天|每到){_DAYPART}?{_CLOCK}?",
    rf"{_DAYPART}{_CLOCK}",
)
_TIME = re.compile("|".join(f"(?:{p})" for p in _TIME_PATTERNS))
# Not the event's time: what the citizen asks of the hotline ("三天内答复", "尽快") or opening hours.
_NOT_EVENT = re.compile(r"(?:内|之内|以内)(?:答复|回复|处理|解决|办理)|工作日|营业时间")


def event_time(text: str) -> str | None:
    """The citizen's words for when it happened (``昨天晚上``, ``上周三``, ``三天了``), the first said."""
    for m in _TIME.finditer(text):
        tail = text[m.end() : m.end() + 4]
        if _NOT_EVENT.match(tail) or _NOT_EVENT.match(text[m.end() - 1 : m.end() + 4]):
            continue
        return m.group(0)
    return None


_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(word: str) -> int | None:
    """``12``, ``十二``, ``二十``, ``三`` as an int; ``None`` for ``几`` or anything else."""
    if word.isdigit():
        return int(word)
    if not word or any(c not in _DIGITS and c != "十" for c in word):
        return None
    if "十" not in word:
        return _DIGITS[word] if len(word) == 1 else None
    tens, _, ones = word.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


_RELATIVE_DAYS = {"大前天": 3, "前天": 2, "前晚": 2, "昨天": 1, "昨日": 1, "昨晚": 1, "今天": 0, "今日": 0,
                  "今早": 0, "今晚": 0, "刚才": 0, "刚刚": 0}  # fmt: skip
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def event_date(words: str | None, today: date) -> date | None:
    """The day ``words`` (from ``event_time``) names, counted from ``today`` (the registration's local
    day); ``None`` where it names no single day (上个月, 最近, 每天晚上, 几天前)."""
    if not words:
        return None
    for word, back in _RELATIVE_DAYS.items():
        if words.startswith(word):
            return today - timedelta(days=back)
    if m := re.match(rf"(上周|上星期|上礼拜|这周|本周|这星期|本星期)({_WEEKDAY})", words):
        weekday = _WEEKDAYS.get(m.group(2))
        weekday = int(m.group(2)) - 1 if weekday is None else weekday
        monday = today - timedelta(days=today.weekday())
        if m.group(1).startswith("上"):
            monday -= timedelta(days=7)
        day = monday + timedelta(days=weekday)
        return day if day <= today else None
    if m := re.match(rf"(?:(\d{{4}})年)?([{_NUM}]{{1,2}})月([{_NUM}]{{1,3}})[日号]", words):
        month, mday = chinese_number(m.group(2)), chinese_number(m.group(3))
        year = int(m.group(1)) if m.group(1) else today.year
        try:
            day = date(year, month or 0, mday or 0)
        except ValueError:
            return None
        if day > today and not m.group(1):
            day = day.replace(year=year - 1) if not (day.month == 2 and day.day == 29) else None
        return day if day is not None and day <= today else None
    if m := re.match(rf"([{_NUM}]{{1,3}})(?:天|日)(?:了|前|以前|之前)$", words):
        n = chinese_number(m.group(1))
        return today - timedelta(days=n) if n is not None and n <= 60 else None
    return None


# ---------------------------------------------------------------- who is involved

# Named shops, companies and organisations end in one of these; the name before it is a run of Han
# characters, letters or digits cut at the last word that cannot be part of a name.
_ORG_SUFFIX = (
    "有限责任公司|有限公司|股份公司|公司|集团|超市|商场|商店|小卖部|便利店|饭店|餐馆|餐厅|酒店|宾馆|旅馆|药店|"
    "药房|诊所|网吧|烧烤店|奶茶店|理发店|美容院|健身房|培训机构|培训学校|幼儿园|驾校|中介|物业公司|物业|工地|"
    "加油站|砖厂|石场|养殖场|养猪场|厂|银行|合作社|专业合作社|营业厅|快递站|店"
)
_ORG = re.compile(rf"([{HAN}A-Za-z0-9]{{1,16}}?)({_ORG_SUFFIX})")
# A name never holds these: they end the words before it ("我在华润超市" → 华润超市).
_CUT = re.compile(
    r".*(?:这家|那家|一家|我家|他家|号|在|的|了|是|把|被|给|向|跟|和|与|说|到|去|从|对|个|我|们|这|那|找|让|叫|里|边|买)"
)
# Parties named by their role, with no name
_ROLES = re.compile(
    r"物业|邻居|房东|租客|开发商|包工头|老板|商家|卖家|楼上(?:住户|邻居)?|楼下(?:住户|邻居)?|隔壁|业委会|村委会?|居委会"
)
# Suffixes that name no party without a name before them ("在公司上班"); "的烧烤店" still does
_KINDS = frozenset(("店", "厂", "公司", "有限公司", "集团", "中介", "银行", "工地", "商店", "物业"))
# Words that end in a suffix above but are no party (物业费 is still about the 物业; these are not)
_NOT_ORG = re.compile(r"^(?:商店街|店铺|厂房|工厂区|公司上班)$")


def _after_time(words: str) -> str:
    """``words`` after the last time expression in them (``昨天晚上8点桂林某某公司`` → ``桂林某某公司``)."""
    ends = [m.end() for m in _TIME.finditer(words)]
    return words[ends[-1] :] if ends else words


def parties(text: str) -> str | None:
    """Who the matter is about besides the citizen (shops, companies, named organisations, a
    neighbour or landlord), joined with ``、`` in the order named."""
    found: list[tuple[int, str]] = []
    for m in _ORG.finditer(text):
        head = _CUT.sub("", _after_time(m.group(1)))
        if (not head and m.group(2) in _KINDS) or (len(head) < 2 and m.group(2) in ("店", "厂")):
            continue  # "这家店", "在公司", "的工地": a kind of place, not a named party
        name = head + m.group(2)
        if _NOT_ORG.match(name) or len(name) < 2:
            continue
        found.append((m.start(1) + len(m.group(1)) - len(head), name))
    for m in _ROLES.finditer(text):
        # inside a named party, or only saying where it is ("楼下的烧烤店"): not a party of its own
        if not any(s <= m.start() < s + len(n) or m.end() <= s <= m.end() + 1 for s, n in found):
            found.append((m.start(), m.group(0)))
    names: list[str] = []
    for _, name in sorted(found):
        if name not in names and not any(name in other for other in names):
            names.append(name)
    return "、".join(names)[:500] if names else None


# ---------------------------------------------------------------- where

_LEAD = re.compile(r"^(?:我家|我们家|我们|我|家)?(?:就|是)?(?:住在|住|位于|在|是)?")
# What ends a place in the clause that holds it: the matter begins ("的路灯", "有人", "一直")
_PLACE_END = re.compile(r"的|有|一直|经常|总是|被|把|没有|没人|发生|出现|坏|堵|漏|乱|太|很|天天|每天|附近的")
_ADDRESS = "镇|乡|村|屯|寨|社区|街道|街|路|巷|弄|大道|小区|花园|大厦|广场|市场|车站|公园|景区"
_STRONG = re.compile(
    rf"([{HAN}0-9]{{1,10}}?)({_ADDRESS})"
    r"((?:[0-9一二三四五六七八九十]+(?:组|号|栋|幢|号楼|单元))*(?:门口|路口|交叉口|对面|旁边)?)"
)
# The words before an address word that are no part of its name ("我在幸福小区" → 幸福小区)
_PLACE_CUT = re.compile(r".*(?:在|的|了|是|到|去|从|我|们|他|她|住|说|这|那|走|过|修|条|个|一)")
_GENERIC = re.compile(r"^(?:马路|道路|公路|街上|路上|街道办)")


def place(text: str, towns: Iterable[str] = ()) -> str | None:
    """The place the text names, as the citizen wrote it (``龙胜镇桂石路和新华路交叉口``), or ``None``.

    The clause holding a town of the jurisdiction is taken from the town on, cut where the matter
    begins; else the first clear address (…村, …路, …小区 with a name of two characters or more); a bare
    ``马路上``, ``这条路`` or ``走路`` is no place.
    """
    towns = tuple(t for t in towns if t)
    clauses = [c.strip() for c in re.split(r"[，,。.！!？?；;\n]", text)]
    for clause in clauses:
        start = min((i for i in (clause.find(t) for t in towns) if i >= 0), default=-1)
        if start >= 0:
            rest = clause[start:]
            end = _PLACE_END.search(rest, 2)
            return (rest[: end.start()] if end else rest).strip()[:200]
    for clause in clauses:
        for m in _STRONG.finditer(clause):
            head = _PLACE_CUT.sub("", m.group(1))
            found = head + m.group(2) + m.group(3)
            if len(head) >= 2 and not _GENERIC.match(found):
                return found[:200]
    return None


def extract(text: str, *, towns: Iterable[str] = (), today: date | None = None) -> Facts:
    """Every fact ``text`` gives; ``today`` (the registration's local day) resolves ``event_date``."""
    numbers = phones(text)
    words = event_time(text)
    return Facts(
        name=citizen_name(text),
        phone=numbers[0] if numbers else None,
        event_time=words,
        event_date=event_date(words, today) if today else None,
        parties=parties(text),
        place=place(text, towns),
    )
