"""A pack's ``facts`` section (issue 16): the facts required by category and the decline for a refusal,
read from the pack (common's default under it), and every mistake named with its line."""

from __future__ import annotations

import pytest

from routing import policy
from tests.routing.test_policy_loader import PACK, problems_of, write_pack

OWN = """\
facts:
  required:
    complaint: [place, name, phone]
  decline: abusive
  decline_for: [name]
  reply: 请提供姓名。
  basis: 第九条
"""


def test_the_pack_adds_to_commons_facts(tmp_path):
    facts = policy.load(str(write_pack(tmp_path, text=PACK + OWN))).facts
    assert facts.needed("complaint") == ("place", "name", "phone")
    assert facts.needed("help") == ("place",)  # common.yaml's, kept key by key
    assert facts.needed("consult") == ()
    assert (facts.decline, facts.decline_for, facts.reply, facts.basis) == (
        "abusive",
        ("name",),
        "请提供姓名。",
        "第九条",
    )


def test_without_its_own_section_a_pack_asks_only_where(tmp_path):
    facts = policy.load(str(write_pack(tmp_path))).facts
    assert facts.required == {"help": ("place",), "complaint": ("place",), "report": ("place",)}
    assert facts.decline is None and facts.decline_for == ()


@pytest.mark.parametrize(
    "old, new, field, message",
    [
        ("[place, name, phone]", "[place, email]", "facts.required.complaint", "expected a list"),
        ("complaint: [place, name, phone]", "court: [place]", "facts.required.court", "expected a category"),
        ("decline: abusive", "decline: duplicate", "facts.decline", "decline code this pack enables"),
        ("decline_for: [name]", "decline_for: [age]", "facts.decline_for", "expected a list"),
        ("  basis: 第九条\n", "", "facts.basis", "missing"),
        ("  reply: 请提供姓名。\n", "", "facts", "needs decline"),
        ("  basis: 第九条\n", "  basis: 第九条\n  ask: yes\n", "facts.ask", "unknown field"),
    ],
)  # fmt: skip
def test_a_broken_facts_section_names_its_field(tmp_path, old, new, field, message):
    path = write_pack(tmp_path, text=PACK + OWN.replace(old, new, 1))
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert f": {field}: " in problems[0] and message in problems[0], problems[0]
