"""A matter's facts on its ticket (issue 16, item 2): what the citizen's words give is written down as
an operator would, and what the pack requires and is still missing is asked for.

``note_facts`` fills the ticket's columns from the text (``intake.facts``); the contact phone of a
phone or SMS matter is the caller ID unless the citizen gives another number. ``intake.conversations``
calls it for the first message and for every answer to a question about the pending matter.

``missing_facts`` says which facts the pack's ``facts`` section requires for the category and the text
does not give; ``question`` asks for all of them in one turn; ``read_answer`` reads the reply: the
place, a bare name, "不知道" (move on) or a refusal (declined where the pack says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from intake.core.models import Ticket
from intake.core.tickets import citizen_phone
from intake.facts import _SURNAME, HAN, Facts, citizen_name, event_time, extract, parties, phones, place
from routing.policy import FactRules


def note_facts(ticket: Ticket, text: str, *, towns: Iterable[str], today: date) -> Facts:
    """Write what ``text`` says of the matter onto ``ticket`` and return it.

    A fact the citizen states replaces one stated earlier (a correction: "不对，电话是…"); a fact the
    text does not state leaves the column as it was. The place goes to ``location`` only while none
    is recorded: a place the citizen gives in answer to the question is set by the conversation.
    """
    facts = extract(text, towns=towns, today=today)
    if facts.name:
        ticket.citizen_name = facts.name[:64]
    if facts.phone:
        ticket.contact_phone = facts.phone[:32]
    elif not ticket.contact_phone:
        ticket.contact_phone = citizen_phone(ticket)  # the caller ID of a call or an SMS, else None
    if facts.event_time:
        ticket.event_time = facts.event_time[:64]
        ticket.event_date = facts.event_date
    if facts.parties:
        ticket.parties = facts.parties
    if facts.place and not ticket.location:
        ticket.location = facts.place[:200]
    return facts


# ---------------------------------------------------------------- asking for what is missing

# One question per fact, all in one turn ("请问您贵姓？方便留一个联系电话吗？"); the place alone keeps
# the wording the conversation has always used.
ASK_PLACE = "请问这件事发生在什么地方？请告诉我们乡镇、村（社区）或街道、小区的名称，越具体越好。"
QUESTIONS = {
    "place": "请问这件事发生在什么地方（乡镇、村或街道、小区）？",
    "time": "大概是什么时候发生的？",
    "parties": "涉及哪家单位、商家或哪些人？",
    "name": "请问您贵姓？",
    "phone": "方便留一个联系电话吗？",
}
ORDER = ("place", "time", "parties", "name", "phone")
PHONE_CHANNELS = ("voice", "sms")

# "不知道" moves on; "不方便说" is a refusal, which some packs decline (001 第十三条(四), 002 第七条(十))
_UNKNOWN = re.compile(r"不知道|不清楚|不记得|记不清|忘了|说不清|没注意|不确定")
_REFUSED = re.compile(
    r"不方便|不想(说|留|讲|告诉|提供|透露)|不愿(意)?(说|留|讲|告诉|提供|透露)?|不告诉|不提供|不留|不给|凭什么|"
    r"没必要|不用(留|说|了)|保密|匿名|不说"
)
_BARE_NAME = re.compile(rf"^(?:我)?(?:姓|叫)?({_SURNAME})([{HAN}]{{0,2}}?)(先生|女士)?[。.！!]?$")


def known_facts(
    text: str, *, channel: str, sender: str, towns: Iterable[str], location: str | None
) -> set[str]:
    """Which facts ``text`` (or the channel) already gives: the caller ID is a phone, a shared location
    a place."""
    found = set()
    if citizen_name(text):
        found.add("name")
    if phones(text) or (channel in PHONE_CHANNELS and len(re.sub(r"\D", "", sender)) >= 7):
        found.add("phone")
    if location or place(text, towns):
        found.add("place")
    if event_time(text):
        found.add("time")
    if parties(text):
        found.add("parties")
    return found


def missing_facts(
    rules: FactRules, category: str | None, text: str, *, channel: str, sender: str, towns: Iterable[str],
    location: str | None = None,
) -> list[str]:  # fmt: skip
    """The facts the pack requires for ``category`` that the text does not give, in the order asked."""
    needed = set(rules.needed(category))
    have = known_facts(text, channel=channel, sender=sender, towns=towns, location=location)
    return [f for f in ORDER if f in needed and f not in have]


# 001 第二十四条: the unit gets the citizen's name, phone and address only with their permission
CONSENT_QUESTION = "您的姓名和电话是否同意提供给承办单位，方便他们直接联系您？"
_CONSENT_NO = re.compile(r"不同意|不要给|别给|不给|不愿意|不行|不可以|保密|不要告诉|别告诉")
_CONSENT_YES = re.compile(r"同意|可以|没问题|好的|愿意")


def question(missing: list[str], consent: bool = False) -> str:
    """One turn asking for every missing fact (and, where the pack asks it, the permission)."""
    asked = ASK_PLACE if missing == ["place"] else "".join(QUESTIONS[f] for f in missing)
    return asked + (CONSENT_QUESTION if consent else "")


def read_consent(text: str) -> bool | None:
    """The citizen's answer to ``CONSENT_QUESTION``: agreed, refused, or ``None`` when not said."""
    if _CONSENT_NO.search(text):
        return False
    return True if _CONSENT_YES.search(text) else None


@dataclass(frozen=True)
class Answer:
    """What the citizen's answer to the question says."""

    place: str | None  # the ticket's location, when the place was asked for
    name: str | None  # a bare name given in answer to 您贵姓 ("王", "张伟")
    refused: bool  # 不方便说, 不想留电话…
    unknown: bool  # 不知道, 记不清…


def read_answer(text: str, missing: list[str], towns: Iterable[str]) -> Answer:
    """Read the citizen's answer to ``question(missing)``."""
    refused = bool(_REFUSED.search(text))
    unknown = bool(_UNKNOWN.search(text)) and not refused
    found_place = None
    if missing == ["place"] and not (refused or unknown):
        found_place = text.strip()[:200]  # the whole answer is the place, as said (or a shared location)
    elif "place" in missing:
        found_place = place(text, towns)
    name = None
    if "name" in missing and not citizen_name(text):
        for clause in re.split(r"[，,。；;\s]+", text.strip()):
            if (m := _BARE_NAME.match(clause)) and not _REFUSED.search(clause):
                name = m.group(1) + (m.group(2) or "") + (m.group(3) or "")
                name = name if (m.group(2) or m.group(3)) else "姓" + m.group(1)
                break
    return Answer(place=found_place, name=name, refused=refused, unknown=unknown)


def pending_category(state: dict, rules: FactRules, asked: list[str]) -> str | None:
    """The pending matter's category, kept with the question (a state from before kept none: the first
    category that requires what was asked)."""
    if state.get("category"):
        return state["category"]
    return next((c for c, names in rules.required.items() if set(asked) <= set(names)), None)
