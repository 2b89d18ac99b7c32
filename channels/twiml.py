"""TwiML in Mandarin: ``<Say>`` and ``<Gather>`` with the right voice and languages, and text made sayable.

Twilio's text-to-speech takes ``cmn-CN`` (Amazon Polly's Zhiyu), its speech recognition
``cmn-Hans-CN`` (it has no ``zh-CN``): https://www.twilio.com/docs/voice/twiml/say and
https://www.twilio.com/docs/voice/twiml/gather. A long number written in digits would be read as an
amount ("二十六亿…"), so ticket numbers are spelt out digit by digit the way people read phone numbers
(一 as 幺), in groups of four.
"""

from __future__ import annotations

import re

from flask import Response
from twilio.twiml.voice_response import Gather, VoiceResponse

from kb.answer_forms import spoken

VOICE = "Polly.Zhiyu"
SAY_LANGUAGE = "cmn-CN"
GATHER_LANGUAGE = "cmn-Hans-CN"
DIGITS = "零幺二三四五六七八九"
UNCUT = 1_000_000  # a guidance or a decline is read whole: the citizen needs all of it

_LONG_NUMBER = re.compile(r"(?<!\d)\d{6,}(?!\d)")
# a phone number as ``kb.answer_forms.spoken`` writes it, digits apart: "1 2 3 4 5"
_SPACED = re.compile(r"(?<!\d)\d(?: \d){2,}(?!\d)")
# a short number to call ("拨打119", "转接110"): said digit by digit, not as an amount
_LINE = re.compile(r"(?<=拨打|转接)\d{3,5}(?!\d)")


def digits_aloud(number: str) -> str:
    """``2611230001`` → ``二六幺幺，二三零零，零幺``: digit by digit, a short pause every four."""
    said = "".join(DIGITS[int(d)] if d.isdigit() else d for d in number)
    return "，".join(said[i : i + 4] for i in range(0, len(said), 4))


def spell_numbers(text: str) -> str:
    """Ticket numbers, phone numbers and the lines to call, spelt out digit by digit."""
    text = _SPACED.sub(lambda m: "".join(DIGITS[int(d)] for d in m.group(0).split()), text)
    text = _LONG_NUMBER.sub(lambda m: digits_aloud(m.group(0)), text)
    return _LINE.sub(lambda m: digits_aloud(m.group(0)), text)


def sayable(text: str) -> str:
    """A reply for the screen made fit to read aloud, whole: no links or brackets, numbers spelt out."""
    return spell_numbers(spoken(text, limit=UNCUT))


def say(parent: VoiceResponse | Gather, text: str) -> None:
    parent.say(text, voice=VOICE, language=SAY_LANGUAGE)


def gather(
    response: VoiceResponse,
    action: str,
    *,
    speech: bool,
    num_digits: int | None = 1,
    timeout: int = 6,
    finish_on_key: str | None = None,
) -> Gather:
    """A ``<Gather>`` posting to ``action``; with ``speech`` the caller may talk as well as press keys."""
    options: dict[str, object] = {"action": action, "method": "POST", "timeout": timeout}
    if speech:
        options |= {"input": "speech dtmf", "language": GATHER_LANGUAGE, "speech_timeout": "auto"}
    else:
        options["input"] = "dtmf"
    if num_digits is not None:
        options["num_digits"] = num_digits
    if finish_on_key is not None:
        options["finish_on_key"] = finish_on_key
    return response.gather(**options)


def as_response(twiml: VoiceResponse) -> Response:
    return Response(str(twiml), mimetype="text/xml")
