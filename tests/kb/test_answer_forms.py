"""Answers shaped for each medium: SMS pages within two UCS-2 segments, and a version to read aloud."""

from __future__ import annotations

import json

import pytest

from kb.answer_forms import MORE, SmsPage, sms_page, sms_units, spoken
from kb.records import DEMO_ENTRIES

ENTRIES = [json.loads(line) for line in DEMO_ENTRIES.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    "text, units", [("社保卡", 3), ("ok", 2), ("😀", 2), ("𠀀字", 3)], ids=["cjk", "ascii", "emoji", "ext-b"]
)
def test_sms_units_count_characters_outside_the_bmp_twice(text, units):
    assert sms_units(text) == units


def test_a_short_answer_is_one_page():
    page = sms_page("请携带身份证到县政务服务中心二楼办理。")
    assert page == SmsPage("请携带身份证到县政务服务中心二楼办理。", "") and page.segments == 1


@pytest.mark.parametrize("entry", ENTRIES[:40], ids=lambda e: e["id"])
def test_every_page_fits_two_segments_and_nothing_is_lost(entry):
    text, pages = entry["answer"], []
    page = sms_page(text)
    while True:
        pages.append(page)
        assert page.segments <= 2 and sms_units(page.body) <= 134
        if not page.rest:
            break
        assert page.body.endswith(MORE)
        page = sms_page(page.rest)
    rebuilt = "".join(p.body.removesuffix(MORE) for p in pages)
    assert rebuilt.replace(" ", "") == text.strip().replace(" ", "")


def test_a_page_breaks_at_a_sentence_end_when_one_is_near():
    text = "第一句话说明办理地点在县政务服务中心。" * 6 + "第二部分" * 30
    body = sms_page(text).body
    assert body.removesuffix(MORE).endswith("。")


def test_the_units_own_spoken_answer_is_used_as_written():
    assert spoken("很长的书面答复……", "带上身份证去政务中心办。") == "带上身份证去政务中心办。"


@pytest.mark.parametrize(
    "written, heard",
    [
        ("工作日上午8:00-12:00，下午15:00-18:00办理。", "工作日上午8点到12点，下午15点到18点办理。"),
        ("咨询电话0773-7512345。", "咨询电话0 7 7 3，7 5 1 2 3 4 5。"),
        ("详见https://example.gov.cn/guide 。", "详见 。"),
        ("免收工本费（以网点公示为准）。", "免收工本费。"),
        ("8:30开门。", "8点半开门。"),
    ],
    ids=["time-range", "landline", "link", "brackets", "half-hour"],
)
def test_a_derived_spoken_answer_reads_naturally(written, heard):
    assert spoken(written) == heard


def test_a_derived_spoken_answer_is_short_and_ends_a_sentence():
    long_answer = next(e["answer"] for e in ENTRIES if len(e["answer"]) > 200)
    said = spoken(long_answer)
    assert len(said) <= 150 and said.endswith(("。", "！", "？", "；"))
    assert "http" not in said and ":" not in said
