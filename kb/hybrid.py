"""Hybrid retrieval: sentence vectors in faiss and character-bigram BM25, fused by reciprocal rank.

Each entry is represented by every phrasing (question, alternate phrasings) and one document made of
its question and keywords; an entry scores its best phrasing. BM25 over character bigrams catches the
exact terms (证件名, 地名) the encoder blurs; the encoder catches paraphrases with no shared words.
Ranks are fused (RRF), but the confidence that decides whether to answer is the encoder's cosine,
blended with the edit-distance similarity for short and misspelt questions (shared/MEASURED.md: fused
rank scores make a poor confidence).

Vectors are cached in memory and on disk under a key made of the encoder's name and a hash of every
indexed text, so a restart, or another worker with the same knowledge base, does not re-encode.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import bm25s
import faiss
import numpy as np

from kb.encoders import Encoder
from kb.search import Hit, IndexedEntry, _bigrams, _similarity

log = logging.getLogger(__name__)

RRF_K = 60
SHORTLIST = 50
_MEMO: dict[str, np.ndarray] = {}
_MEMO_LOCK = threading.Lock()
faiss.omp_set_num_threads(1)  # two cores: faiss and numpy threads fighting raised p99 from 6 to 38 ms


def _tokens(text: str) -> list[str]:
    grams = sorted(_bigrams(text))
    return grams or [text]


class HybridIndex:
    """The entries of one knowledge-base revision, searchable by meaning and by characters."""

    def __init__(
        self,
        entries: Sequence[IndexedEntry],
        revision: int,
        encoder: Encoder,
        cache_dir: Path | None = None,
    ) -> None:
        self.entries = list(entries)
        self.revision = revision
        self.encoder = encoder
        texts: list[str] = []
        owners: list[int] = []
        for i, entry in enumerate(self.entries):
            doc = " ".join([entry.phrasings[0], *entry.keywords]) if entry.phrasings else ""
            for text in dict.fromkeys([*entry.phrasings, doc]):
                if text:
                    texts.append(text)
                    owners.append(i)
        self._texts = texts
        self._owners = np.asarray(owners, dtype=np.int64)
        vectors = self._vectors(texts, cache_dir)
        self._faiss = faiss.IndexFlatIP(encoder.dim)
        if len(vectors):
            self._faiss.add(vectors)
        self._bm25 = bm25s.BM25()
        corpus = [
            _tokens(" ".join([*entry.phrasings, *entry.keywords])) for entry in self.entries
        ]  # one BM25 document per entry
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self.entries)

    def _vectors(self, texts: list[str], cache_dir: Path | None) -> np.ndarray:
        digest = hashlib.sha256("\n".join([self.encoder.name, *texts]).encode()).hexdigest()[:24]
        with _MEMO_LOCK:
            if digest in _MEMO:
                return _MEMO[digest]
        path = cache_dir / f"vectors-{digest}.npy" if cache_dir else None
        if path and path.exists():
            vectors = np.load(path)
        else:
            vectors = self.encoder.encode(texts) if texts else np.zeros((0, self.encoder.dim), np.float32)
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                tmp.replace(path)  # atomic: another worker never reads half a file
        with _MEMO_LOCK:
            _MEMO[digest] = vectors
        return vectors

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]:
        """The best ``limit`` entries valid on ``today`` for the normalised ``query``."""
        if not query or not self.entries:
            return []
        vector = self.encoder.encode([query])
        depth = min(SHORTLIST * 3, self._faiss.ntotal)
        scores, rows = self._faiss.search(vector, depth)
        cosine: dict[int, float] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            owner = int(self._owners[row])
            if score > cosine.get(owner, -1.0):
                cosine[owner] = float(score)
        bm = self._bm25.get_scores(_tokens(query))
        lexical_rank = [int(i) for i in np.argsort(-bm)[:SHORTLIST] if bm[i] > 0]
        semantic_rank = sorted(cosine, key=cosine.get, reverse=True)[:SHORTLIST]
        fused: dict[int, float] = {}
        for ranking in (semantic_rank, lexical_rank):
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        q_grams = _bigrams(query)
        hits = []
        for i in sorted(fused, key=fused.get, reverse=True):
            entry = self.entries[i]
            if not entry.valid_on(today):
                continue
            lexical = max(_similarity(query, q_grams, p, _bigrams(p)) for p in entry.phrasings)
            cos = cosine.get(i)
            if cos is None:
                cos = float(np.max(self._entry_vectors(i) @ vector[0]))
            hits.append(Hit(entry, max(cos, lexical)))
            if len(hits) >= limit * 2:
                break
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def _entry_vectors(self, i: int) -> np.ndarray:
        rows = np.nonzero(self._owners == i)[0]
        return np.vstack([self._faiss.reconstruct(int(r)) for r in rows])
