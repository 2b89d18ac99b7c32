"""Answer right or not at all: quality gates on the held-out paraphrase set (tests/data/kb_test.jsonl).

The thresholds were calibrated on tests/data/kb_dev.jsonl only (``python -m kb.benchmark --calibrate``);
this set was never used for tuning, though its results have been read after each change. The figures
are counts, not timings, so they are the same on every machine. Measured when written: the right entry
among the first three for 0.96 of paraphrases, 59 of 170 paraphrases answered (0.35), all of them
rightly, and 2 of 60 unanswerable questions answered (0.033). The first two gates and the last are the
issue's targets; the answered share has no target and its gate is the floor we reached.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.text import normalize
from kb.search import decide
from tests.conftest import NOW, Clock, make_hotline

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def results(request):
    demo = request.getfixturevalue("demo")
    with demo.db.session() as session:
        index = demo.kb.refresh(session)
    rows = [json.loads(line) for line in (DATA / "kb_test.jsonl").read_text(encoding="utf-8").splitlines()]
    out = []
    for row in rows:
        hits = index.search(normalize(row["text"]).match, NOW.date())
        out.append((row, hits, decide(hits, demo.triage.thresholds)))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory, database_url):
    # module-scoped: the held-out set is searched once
    hotline = make_hotline(database_url, tmp_path_factory.mktemp("q"), Clock(NOW), demo=True)
    yield hotline
    hotline.db.dispose()


def test_the_right_entry_is_among_the_first_three_for_nine_paraphrases_in_ten(results):
    answerable = [(row, hits) for row, hits, _ in results if row["kb_id"]]
    top3 = sum(any(h.entry.public_id == row["kb_id"] for h in hits[:3]) for row, hits in answerable)
    assert top3 / len(answerable) >= 0.90


def test_answers_given_are_right_at_least_nine_times_in_ten(results):
    answered = [(row, d) for row, _, d in results if row["kb_id"] and d.kind == "answer"]
    right = sum(d.best.entry.public_id == row["kb_id"] for row, d in answered)
    assert answered and right / len(answered) >= 0.90


def test_at_most_one_unanswerable_question_in_twenty_is_answered(results):
    unanswerable = [d for row, _, d in results if row["kb_id"] is None]
    answered = sum(d.kind == "answer" for d in unanswerable)
    assert answered / len(unanswerable) <= 0.05


def test_a_third_of_paraphrases_are_answered_at_once_rather_than_offered_as_choices(results):
    answerable = [d for row, _, d in results if row["kb_id"]]
    answered = sum(d.kind == "answer" for d in answerable)
    assert answered / len(answerable) >= 0.33  # the floor reached, not a target: see the module's note
