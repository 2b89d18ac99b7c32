"""The keys of the triage contract (issue 2), shared by the CLI and API tests."""

CONTRACT_KEYS = {
    "action", "reply", "kb_id", "score", "candidates", "transfer_to", "transfer_all", "redirect_to",
    "decline_reason", "category", "urgent", "unit", "due", "basis", "ticket",
}  # fmt: skip
ACTIONS = {"answer", "clarify", "transfer", "redirect", "decline", "ticket"}
CATEGORIES = {"consult", "help", "complaint", "report", "suggestion", "praise"}

# One message per action, as citizens write them; used by every contract test.
EXAMPLES = {
    "answer": "社保卡丢了咋办",
    "transfer": "楼下邻居家阳台一片通红，好大的烟",
    "redirect": "法院判决了对方一直不执行怎么办",
    "decline": "你们这些废物",
    "ticket": "瓢里镇瓢里街的路灯坏了一个多月了，晚上黑漆漆的没人管",
}


def assert_contract(body: dict) -> None:
    """Every key present, and each one of the documented type."""
    assert set(body) >= CONTRACT_KEYS, CONTRACT_KEYS - set(body)
    assert body["action"] in ACTIONS | {"ask"}
    assert isinstance(body["reply"], str) and body["reply"]
    assert isinstance(body["urgent"], bool)
    assert body["category"] is None or body["category"] in CATEGORIES
    if body["action"] == "answer":
        assert body["kb_id"] and isinstance(body["score"], float)
    if body["action"] == "clarify":
        assert 2 <= len(body["candidates"]) <= 3
        for c in body["candidates"]:
            assert set(c) == {"kb_id", "question", "score"}
    if body["action"] == "transfer":
        assert body["transfer_to"] in body["transfer_all"]
    if body["action"] == "redirect":
        assert body["redirect_to"] and body["basis"]
    if body["action"] == "decline":
        assert body["decline_reason"] and body["basis"]
    if body["action"] == "ticket":
        assert body["unit"] and body["due"] and body["category"]
