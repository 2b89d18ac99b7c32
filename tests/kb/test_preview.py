"""Preview before publishing: test questions decided now and with the draft; near-duplicates on save."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from intake.core.text import normalize
from kb.models import KbEntry
from kb.preview import DRAFT_ID, Draft, PreviewInvalid, near_duplicates, preview
from kb.search import KnowledgeBase
from tests.conftest import NOW

TODAY = NOW.date()


@pytest.fixture
def live(demo):
    with demo.db.session() as session:
        return demo.kb.refresh(session)


@pytest.fixture
def record(demo):
    """The demo entry with this public id, in the import/export format, to edit as a draft."""

    def find(public_id: str) -> dict:
        with demo.db.session() as session:
            return session.scalar(select(KbEntry).where(KbEntry.public_id == public_id)).to_record()

    return find


def look(demo, live, draft, *questions):
    return preview(live, draft, list(questions), today=TODAY, thresholds=demo.triage.thresholds)


def test_a_new_phrasing_turns_an_unanswered_question_into_an_answer(demo, live, record):
    entry = record("LS-GAJ-0009")  # 怎么开无犯罪记录证明？
    entry["alt_questions"] += ["单位让我开个没犯过法的证明", "开个证明说我没坐过牢"]
    [row] = look(demo, live, Draft.from_record(entry), "我没坐过牢，单位要我去开证明")
    assert row.now.kind is None
    assert row.now.describe().startswith("不能回答")
    assert row.with_draft.kind == "answer"
    assert [(h.public_id, h.draft) for h in row.with_draft.hits] == [("LS-GAJ-0009", True)]
    assert row.changed


def test_a_new_entry_answers_what_nothing_answers_now(demo, live):
    draft = Draft(
        public_id=None,
        unit="jjdd",
        question="电动自行车怎么上牌照？",
        alt_questions=("电瓶车在哪里上牌", "电动车挂牌要带什么"),
        keywords=("电动自行车", "上牌"),
        answer="带购车发票、合格证和身份证到县交警大队车管所办理。",
    )
    asked = look(demo, live, draft, "电瓶车上牌去哪里办", "社保卡丢了咋办")
    plate, card = asked
    assert (plate.now.kind, plate.with_draft.kind) == (None, "answer")
    assert plate.with_draft.hits[0].public_id == DRAFT_ID
    assert plate.to_dict()["with_draft"]["text"].startswith("直接回答：电动自行车怎么上牌照？")
    # a question the draft has nothing to do with is decided as before
    assert not card.changed
    assert card.with_draft.hits[0].public_id == "LS-RSJ-0003"


def test_the_draft_replaces_the_live_version_of_its_entry(demo, live, record):
    entry = record("LS-RSJ-0003") | {"valid_from": "2027-01-01"}  # not in force yet
    [row] = look(demo, live, Draft.from_record(entry), "社保卡丢了咋办")
    assert row.now.kind == "answer" and row.now.hits[0].public_id == "LS-RSJ-0003"
    assert all(h.public_id != "LS-RSJ-0003" for h in (*row.with_draft.hits, row.with_draft.best))
    assert row.changed


def test_blank_test_questions_are_skipped_and_too_many_refused(demo, live, record):
    draft = Draft.from_record(record("LS-RSJ-0003"))
    assert [r.question for r in look(demo, live, draft, " ", "社保卡丢了咋办", "")] == ["社保卡丢了咋办"]
    with pytest.raises(PreviewInvalid) as refused:
        look(demo, live, draft, *[f"问题{i}" for i in range(21)])
    assert refused.value.status == 400 and "20" in refused.value.message


def test_without_an_encoder_the_draft_is_scored_by_characters(demo, live):
    with demo.db.session() as session:
        lexical = KnowledgeBase(lambda t: normalize(t).match).refresh(session)
    assert not hasattr(lexical, "encoder")
    draft = Draft(None, "jjdd", "电动自行车怎么上牌照？")
    [row] = preview(lexical, draft, ["电动自行车怎么上牌照"], today=TODAY)
    assert (row.now.kind, row.with_draft.kind) == (None, "answer")


# ---------------------------------------------------------------- near-duplicates


def test_a_copy_of_an_existing_question_is_a_near_duplicate(live):
    draft = Draft(None, "rsj", "社保卡丢失了，怎么挂失补办", alt_questions=("养老金怎么算",))
    [found] = near_duplicates(live, draft, today=TODAY)
    assert (found.public_id, found.unit, found.question) == (
        "LS-RSJ-0003",
        "rsj",
        "社保卡丢了怎么挂失和补办？",
    )
    assert found.score >= 0.95
    assert (found.phrasing, found.matched) == ("社保卡丢失了,怎么挂失补办", "社保卡丢了怎么挂失和补办?")


def test_an_unrelated_question_has_no_near_duplicate(live):
    assert near_duplicates(live, Draft(None, "jjdd", "电动自行车怎么上牌照？"), today=TODAY) == []


def test_an_entry_is_not_its_own_near_duplicate(live, record):
    draft = Draft.from_record(record("LS-RSJ-0003"))
    assert near_duplicates(live, draft, today=TODAY) == []


def test_a_notice_out_of_its_window_is_still_compared_by_characters(live):
    # LS-WATER-0006 was a notice for June 2025: it answers nobody today, but a copy is still a copy
    draft = Draft(None, "water", "2025年6月瓢里镇集镇水厂检修停水通知")
    assert [d.public_id for d in near_duplicates(live, draft, today=date(2026, 11, 23))] == ["LS-WATER-0006"]
