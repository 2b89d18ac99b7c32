"""`hotline triage`: one JSON object per text, every contract key present, nothing stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from intake.core.models import InboundMessage, Ticket
from tests.contract import EXAMPLES, assert_contract


@pytest.mark.parametrize("action", sorted(EXAMPLES))
def test_triage_prints_one_contract_object(cli, demo, action):
    result = cli("triage", EXAMPLES[action])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert_contract(body)
    assert body["action"] == action


def test_triage_stores_nothing(cli, demo):
    cli("triage", EXAMPLES["ticket"])
    with demo.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_triage_jsonl_keeps_ids_in_order(cli, demo, tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [{"id": f"m{i}", "text": text} for i, text in enumerate(EXAMPLES.values())]
    lines.append({"id": 42, "text": "身份证过期了去哪里换"})
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    result = cli("triage", "--jsonl", str(path))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [x["id"] for x in lines]
    for body in out:
        assert_contract(body)


def test_triage_jsonl_reports_a_bad_line_and_goes_on(cli, demo, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "社保卡丢了咋办"}\nnot json\n{"id": 3}\n', encoding="utf-8")
    result = cli("triage", "--jsonl", str(path))
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["action"] == "answer"
    assert out[1] == {"id": None, "error": out[1]["error"]} and "line 2" in out[1]["error"]
    assert out[2]["id"] == 3 and "line 3" in out[2]["error"]


def test_triage_needs_text_or_file(cli, demo):
    result = cli("triage")
    assert result.exit_code == 2
    assert "TEXT or --jsonl" in result.output
