"""The learned category model (issue 21): plain arrays keyed by the encoder, the pack's rules first, the
model for what no rule names, and ``hotline train`` rebuilding it in seconds."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from intake.core.text import normalize
from kb.encoders import get_encoder
from routing import policy as policies
from routing import rules
from routing.classifier import SHIPPED, CategoryClassifier, CategoryModel

PACK = policies.load("longsheng")


@pytest.fixture(scope="module")
def classifier() -> CategoryClassifier:
    found = CategoryClassifier.for_encoder(get_encoder(None))
    assert found is not None, "the shipped model must fit the embedded encoder"
    return found


def test_the_shipped_model_is_plain_arrays_that_cannot_run_code():
    with zipfile.ZipFile(SHIPPED) as archive:
        assert sorted(archive.namelist()) == ["coef.npy", "intercept.npy", "meta.npy"]
    with np.load(SHIPPED, allow_pickle=False) as data:  # an object array would raise here
        assert all(data[name].dtype != object for name in data.files)
    model = CategoryModel.load(SHIPPED)
    assert set(model.classes) == {"consult", "help", "complaint", "report", "suggestion", "praise"}
    assert model.encoder == "use-multilingual-v3" and model.trained_on >= 600


def test_a_model_trained_with_another_encoder_is_not_used(tmp_path):
    class Other:
        name = "st:some-other-model"

    assert CategoryClassifier.for_encoder(Other(), tmp_path) is None


@pytest.mark.parametrize(
    "text, category",
    [
        ("楼下那家饭店每天凌晨还在后厨剁骨头，我们全家都睡不好觉", "complaint"),
        ("我看到有人在河边偷偷往河里倒废机油，好几桶", "report"),
        ("能不能在我们村口装两盏路灯，晚上孩子放学太黑了", "suggestion"),
    ],
)
def test_where_no_pack_rule_names_the_category_the_model_decides(classifier, text, category):
    match = normalize(text).match
    assert not any(rule.matches(match) for rule in PACK.classify), "this row is about the model"
    assert rules.classify(match, PACK) != category  # what the old fallback said
    assert rules.classify(match, PACK, lambda t: classifier.predict(t)[0]) == category


def test_a_pack_rule_that_matches_wins_over_the_model(classifier):
    match = normalize("怎么投诉出租车司机绕路").match  # a question about complaining: consult (common.yaml)
    assert rules.classify(match, PACK, lambda t: "complaint") == "consult"


def test_hotline_train_rebuilds_a_model_that_loads(cli, tmp_path):
    rows = [
        {"action": "answer_or_ticket", "category": c, "text": t}
        for c, t in [
            ("complaint", "饭店卖的菜有头发老板还骂人"), ("complaint", "快递员把我的包裹扔在门口丢了不认账"),
            ("consult", "社保卡在哪里补办"), ("consult", "公积金怎么提取"),
            ("help", "路口的红绿灯坏了"), ("help", "小区下水道堵了往外冒水"),
        ]
    ]  # fmt: skip
    corpus = tmp_path / "train.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "models" / "category.npz"
    result = cli("train", "--corpus", str(corpus), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "trained on 6 messages" in result.stdout
    model = CategoryModel.load(out)
    assert model.classes == ("complaint", "consult", "help") and model.trained_on == 6
    # a deployment's own model (in its instance folder) wins over the shipped one
    own = CategoryClassifier.for_encoder(get_encoder(None), tmp_path)
    assert own is not None and own.model.trained_on == 6
