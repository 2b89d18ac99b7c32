"""Answer right or not at all: quality gates on the held-out paraphrase set (tests/data/kb_test.jsonl).

The thresholds were calibrated on tests/data/kb_dev.jsonl only (``python -m kb.benchmark --calibrate``);
this set was never used for tuning, though its results have been read after each change. The figures
are counts, not timings, so they are the same on every machine. Measured when written: the right entry
among the first three for 0.96 of paraphrases, 59 of 170 paraphrases answered (0.35), all of them
rightly, and 2 of 60 unanswerable questions answered (0.033). The first two gates and the last are the
issue's targets; the answered share has no target and its gate is the floor we reached.

A second, fresh set (tests/data/kb_fresh.jsonl) was written after all of this because kb_test had been
looked at too often; its gates, at the end, are ratchets at its first and only measurement.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.core.text import normalize
from kb.search import decide
from tests.conftest import NOW, Clock, make_hotline

DATA = Path(__file__).parent.parent / "data"


def searched(demo, name: str) -> list:
    """(row, hits, decision) for every question of ``tests/data/<name>.jsonl`` on the demo county."""
    with demo.db.session() as session:
        index = demo.kb.refresh(session)
    rows = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    out = []
    for row in rows:
        hits = index.search(normalize(row["text"]).match, NOW.date())
        out.append((row, hits, decide(hits, demo.triage.thresholds)))
    return out


@pytest.fixture(scope="module")
def results(demo):
    return searched(demo, "kb_test")


@pytest.fixture(scope="module")
def fresh(demo):
    return searched(demo, "kb_fresh")


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


# tests/data/kb_fresh.jsonl (162 paraphrases of 106 entries, 63 unanswerable questions, 28 of them close to
# an entry's topic) was written after the thresholds and every gate above were fixed, by someone who had
# not read kb_dev or kb_test, and searched once. Its gates are ratchets at exactly what that run measured
# (the production path: limit 5, the pack's thresholds): raise them when the search gets better, and never
# tune the search on these questions, or the set stops measuring anything.


def test_fresh_the_right_entry_is_among_the_first_three_for_every_paraphrase(fresh):
    answerable = [(row, hits) for row, hits, _ in fresh if row["kb_id"]]
    top3 = sum(any(h.entry.public_id == row["kb_id"] for h in hits[:3]) for row, hits in answerable)
    assert top3 / len(answerable) >= 162 / 162


def test_fresh_mean_reciprocal_rank_stays_at_least_0_980(fresh):
    ranks = []
    for row, hits, _ in fresh:
        if row["kb_id"]:
            ids = [h.entry.public_id for h in hits]
            ranks.append(1 / (ids.index(row["kb_id"]) + 1) if row["kb_id"] in ids else 0.0)
    assert sum(ranks) / len(ranks) >= 0.980


def test_fresh_answers_given_are_right_88_times_in_89(fresh):
    answered = [(row, d) for row, _, d in fresh if row["kb_id"] and d.kind == "answer"]
    right = sum(d.best.entry.public_id == row["kb_id"] for row, d in answered)
    assert answered and right / len(answered) >= 88 / 89


def test_fresh_at_most_3_of_63_unanswerable_questions_are_answered(fresh):
    unanswerable = [d for row, _, d in fresh if row["kb_id"] is None]
    answered = sum(d.kind == "answer" for d in unanswerable)
    assert answered / len(unanswerable) <= 3 / 63


def test_fresh_89_of_162_paraphrases_are_answered_at_once(fresh):
    answerable = [d for row, _, d in fresh if row["kb_id"]]
    answered = sum(d.kind == "answer" for d in answerable)
    assert answered / len(answerable) >= 89 / 162


@pytest.mark.parametrize("question", ["我的车买了五年了今年要不要去检测站上线检", "社保卡丢了咋整"])
def test_whether_to_answer_does_not_depend_on_how_many_hits_are_asked_for(demo, question):
    """The pipeline asks for 5 hits, the public look-up and the benchmark for more: the same question
    must get the same decision (the runner-up once differed with the number of candidates re-scored)."""
    query = normalize(question).match
    with demo.db.session() as session:
        index = demo.kb.refresh(session)
        decisions = {
            limit: decide(index.search(query, NOW.date(), limit=limit), demo.triage.thresholds)
            for limit in (5, 10, 20)
        }
    kinds = {limit: (d.kind, [h.entry.public_id for h in d.hits]) for limit, d in decisions.items()}
    assert kinds[5] == kinds[10] == kinds[20]
