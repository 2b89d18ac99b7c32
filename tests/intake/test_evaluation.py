"""The labelled triage sets: the two figures that must never slip, and how labels meet a pack.

``triage_eval.jsonl`` is the set the emergency rules were tuned on: there every emergency is put
through to its primary line and no other message is. ``triage_heldout.jsonl`` was written before that
tuning and never tuned on; its figures are a ratchet at what was measured (README, *Measured quality*):
they may only get better.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.evaluation import evaluate, load_cases, relabeller
from routing import policy as policies

DATA = Path(__file__).parents[1] / "data"


def run(demo, name: str):
    return evaluate(load_cases(DATA / name), demo.decide, relabeller(demo.policy))


def test_on_the_tuning_set_every_emergency_reaches_its_line_and_nothing_else_is_transferred(demo):
    report = run(demo, "triage_eval.jsonl")
    wrong_line = [e for e in report.errors if e[2].startswith("transfer:") and e[3].startswith("transfer:")]
    assert report.missed_emergencies() == []
    assert wrong_line == []
    assert report.false_transfers() == []


def test_on_the_held_out_set_the_figures_do_not_slip(demo):
    report = run(demo, "triage_heldout.jsonl")
    assert report.total >= 150
    assert len(report.missed_emergencies()) <= 9  # of 81 emergencies under longsheng
    assert len(report.false_transfers()) <= 1


@pytest.mark.parametrize(
    "pack, expected, relabelled",
    [
        ("longsheng", "transfer:96333", "transfer:119"),  # no lift line: 96333 falls back to 119
        ("pingli", "transfer:96333", "transfer:96333"),  # 002 第七条(二) names 96333
        ("liaoyang", "transfer:119", "transfer:110"),  # 001 names 110 and 120 only
        ("longsheng", "transfer:power", "accept"),  # no utility lines: an urgent ticket
        ("guizhou", "transfer:power", "transfer:power"),  # 004 第十条(一)
        ("guizhou", "redirect:court", "accept"),  # 004 redirects procedures, not the courts
        ("wengyuan", "redirect:family", "redirect:family"),  # only 000 第九条(五) has family matters
    ],
)
def test_labels_follow_what_the_pack_does(pack, expected, relabelled):
    assert relabeller(policies.load(pack))(expected) == relabelled
