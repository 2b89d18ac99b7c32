"""Encoding for the knowledge index: vectors are cached per text, large builds use every core, and a
question asked twice is encoded once."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import kb.hybrid as hybrid
from kb.benchmark import TODAY, _norm, demo_entries
from kb.encoders import get_encoder
from kb.hybrid import HybridIndex, encode_many, forget_vectors


class Counting:
    """The real USE encoder, counting the texts it is asked to encode."""

    def __init__(self) -> None:
        self._use = get_encoder()
        self.name, self.dim = self._use.name, self._use.dim
        self.texts: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self._use.encode(texts)


@pytest.fixture
def entries():
    forget_vectors()
    yield demo_entries()
    forget_vectors()


def test_a_restart_reads_every_vector_from_the_disk_cache(entries, tmp_path):
    first = Counting()
    HybridIndex(entries, 1, first, tmp_path)
    forget_vectors()  # a new process: nothing in memory
    again = Counting()
    index = HybridIndex(entries, 1, again, tmp_path)
    assert len(first.texts) > 500 and again.texts == []
    assert index.search(_norm("社保卡丢了怎么补办"), TODAY)[0].entry.public_id == "LS-RSJ-0003"


def test_an_edit_re_encodes_only_the_texts_it_changed(entries, tmp_path):
    HybridIndex(entries, 1, Counting(), tmp_path)
    edited = replace(entries[0], phrasings=(*entries[0].phrasings, "农村老人养老保险怎么交"))
    counting = Counting()
    HybridIndex([edited, *entries[1:]], 2, counting, tmp_path)
    assert counting.texts == ["农村老人养老保险怎么交"]


def test_another_workers_build_is_served_from_the_shared_cache_folder(entries, tmp_path):
    HybridIndex(entries, 1, Counting(), tmp_path)
    forget_vectors()
    other = Counting()
    HybridIndex([*entries[:50], replace(entries[50], keywords=("新的关键词",))], 2, other, tmp_path)
    assert other.texts == ["新的关键词"]


def test_a_large_build_shares_the_work_with_a_worker_process_and_gets_the_same_vectors(monkeypatch):
    use = get_encoder()
    texts = [f"{p}（第{i}号）" for i in range(4) for e in demo_entries()[:40] for p in e.phrasings]
    monkeypatch.setattr(hybrid, "PARALLEL_MIN", 10)
    monkeypatch.setattr(hybrid, "CHUNK", 16)
    taken = []
    original = hybrid._Chunks.take

    def take(self, front: bool):
        j = original(self, front)
        if j is not None:
            taken.append(front)
        return j

    monkeypatch.setattr(hybrid._Chunks, "take", take)
    together = encode_many(use, texts)
    assert True in taken and False in taken  # both the worker and this process encoded
    np.testing.assert_allclose(together, use.encode(texts), atol=1e-5)


def test_a_question_asked_twice_is_encoded_once_and_its_vector_cannot_be_spoilt():
    use = get_encoder()
    use.clear_cache()
    first = use.encode(["停水了怎么办"])
    first *= 0  # a caller scaling its copy in place
    second = use.encode(["停水了怎么办"])
    assert np.isclose(np.linalg.norm(second), 1.0)
    np.testing.assert_array_equal(second, use.encode(["停水了怎么办"]))


def test_an_entry_outside_the_index_is_scored_as_search_scores_it(entries):
    index = HybridIndex(entries, 1, get_encoder())
    query = _norm("农村养老保险一年交多少钱")
    hits = index.search(query, TODAY, limit=3)
    for hit in hits:
        assert index.score(query, hit.entry) == pytest.approx(hit.score, abs=1e-5)
