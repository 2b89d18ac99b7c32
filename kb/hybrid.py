"""Hybrid retrieval: sentence vectors in faiss and character-bigram BM25, fused by reciprocal rank.

Each entry is represented by every phrasing (question, alternate phrasings) and its keywords as one
text; an entry's cosine is its best text's. BM25 over character bigrams catches
the exact terms (证件名, 地名) the encoder blurs; the encoder catches paraphrases with no shared words.
Ranks are fused (RRF) to pick the candidates; the confidence that decides whether to answer is
``confidence()``: the encoder's cosine (or the edit-distance similarity, for short and misspelt
questions, when higher) plus a bonus for the share of the question's rare terms the entry contains.
Unanswerable questions are usually near a real topic ("老年大学怎么报名" vs school enrolment): the
encoder rates them close, but their distinctive words are nowhere in the entry.

Vectors are cached per text, keyed by the encoder's name and the text: in memory (the last index built
in this process, so an edit re-encodes only the texts it changed) and on disk in ``cache_dir`` (a
SQLite file that every worker process on the host shares, so a restart does not re-encode). A large
build encodes on every core with a process pool; a file lock lets one process encode while the others
wait and then read its vectors.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import bm25s
import faiss
import numpy as np

from kb.encoders import Encoder, UseEncoder, read_frame, send_frame
from kb.entries import Hit, IndexedEntry
from kb.lexical import bigrams, similarity

log = logging.getLogger(__name__)

RRF_K = 60
SHORTLIST = 50
# fused candidates re-scored with the full confidence, and so the most hits a search returns: a fixed
# number, so whether the best entry leads the runner-up (and is answered) does not depend on how many
# hits the caller asks for
RESCORED = 15
# how much the share of the question's rare terms found in the entry adds to the cosine; calibrated on
# tests/data/kb_dev.jsonl with the answer thresholds in kb.search.Thresholds
COVERAGE_WEIGHT = 0.3
PARALLEL_MIN = 3000  # texts: below this, starting a worker process costs more than it saves
GRAM_MEMO = 4096  # entries whose bigrams a search keeps
CHUNK = 256  # texts per pool task: small enough to balance the cores, large enough to batch well

faiss.omp_set_num_threads(1)  # two cores: faiss and numpy threads fighting raised p99 from 6 to 38 ms

_MEMO: dict[str, tuple[dict[str, int], np.ndarray]] = {}  # encoder name → last build's texts, vectors
_MEMO_LOCK = threading.Lock()


def _tokens(text: str) -> list[str]:
    grams = sorted(bigrams(text))
    return grams or [text]


def _entry_texts(entry: IndexedEntry) -> list[str]:
    """The texts encoded for ``entry``: its phrasings and its keywords as one text.

    The keywords alone did as well on the dev set as the question-plus-keywords document (top-1 0.83
    vs 0.84, 41 vs 40 answered) for a third of its tokens; the encoder's time is spent per token."""
    return [t for t in dict.fromkeys([*entry.phrasings, " ".join(entry.keywords)]) if t]


def _entry_grams(entry: IndexedEntry) -> set[str]:
    grams: set[str] = set()
    for text in (*entry.phrasings, *entry.keywords):
        grams |= bigrams(text)
    return grams


def confidence(cosine: float, lexical: float, coverage: float) -> float:
    """The 0..1 confidence that an entry answers a question, from its best cosine, its best
    edit-distance similarity and the IDF-weighted share of the question's bigrams it contains."""
    return (max(cosine, lexical) + COVERAGE_WEIGHT * coverage) / (1 + COVERAGE_WEIGHT)


def forget_vectors() -> None:
    """Drop the in-memory vector memo (the benchmark times cold builds)."""
    with _MEMO_LOCK:
        _MEMO.clear()


class VectorCache:
    """Vectors on disk, one row per (encoder, text), shared by the worker processes of one host."""

    def __init__(self, folder: Path, encoder: Encoder) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._encoder = encoder
        self._path = folder / "vectors.sqlite3"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers do not wait for a writer
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB) WITHOUT ROWID")

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._path, timeout=60)
        try:
            with db:
                yield db
        finally:
            db.close()

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self._encoder.name}\0{text}".encode()).digest()[:16]

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        keys = {self._key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        wanted = list(keys)
        with self._connect() as db:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if len(vector) == self._encoder.dim:
                        found[keys[key]] = vector
        return found

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        blobs = (np.ascontiguousarray(v, np.float32).tobytes() for v in vectors)
        rows = [(self._key(t), blob) for t, blob in zip(texts, blobs, strict=True)]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)

    @contextlib.contextmanager
    def encoding(self) -> Iterator[None]:
        """Held while encoding, so processes that start together encode once, not once each."""
        try:
            import fcntl
        except ImportError:  # not POSIX: each process encodes for itself
            yield
            return
        with open(self.folder / "encode.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class _Chunks:
    """Chunks of texts taken from the front by worker processes and from the back by this one."""

    def __init__(self, texts: list[str]) -> None:
        self.chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        self.results: list[np.ndarray | None] = [None] * len(self.chunks)
        self._front, self._back = 0, len(self.chunks)
        self._lock = threading.Lock()

    def take(self, front: bool) -> int | None:
        with self._lock:
            if self._front >= self._back:
                return None
            if front:
                self._front += 1
                return self._front - 1
            self._back -= 1
            return self._back


def _feed(worker: subprocess.Popen, chunks: _Chunks, dim: int) -> None:
    try:
        while (j := chunks.take(front=True)) is not None:
            try:
                send_frame(worker.stdin, json.dumps(chunks.chunks[j], ensure_ascii=False).encode())
                blob = read_frame(worker.stdout)
                chunks.results[j] = np.frombuffer(blob, dtype=np.float32).reshape(-1, dim)
            except (OSError, ValueError, EOFError):
                log.warning("encoding worker failed; this process encodes the rest")
                return  # chunk j stays without a result: encode_many encodes it
    finally:
        with contextlib.suppress(OSError):
            worker.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=10)
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()


def encode_many(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """Encode ``texts``, on every core when there are many and the encoder is the embedded USE.

    Worker processes (``python -m kb.encoders``, each loading its own USE) take chunks from the front
    of the list while this process encodes from the back, so the cores finish together whatever the
    workers' start-up time. Workers are plain subprocesses rather than a multiprocessing pool: they
    never re-import the caller's main module nor inherit its threads and locks. sentence-transformers
    models use every core already and are encoded here."""
    workers = _cores() - 1
    if len(texts) < PARALLEL_MIN or workers < 1 or type(encoder) is not UseEncoder:
        return encoder.encode(texts)
    chunks = _Chunks(texts)
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    feeders = []
    for _ in range(workers):
        try:
            worker = subprocess.Popen(
                [sys.executable, "-m", "kb.encoders"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
            )
        except OSError:
            log.warning("could not start an encoding worker", exc_info=True)
            break
        feeder = threading.Thread(target=_feed, args=(worker, chunks, encoder.dim), daemon=True)
        feeder.start()
        feeders.append(feeder)
    while (j := chunks.take(front=False)) is not None:
        chunks.results[j] = encoder.encode(chunks.chunks[j])
    for feeder in feeders:
        feeder.join()
    for j, result in enumerate(chunks.results):
        if result is None:  # a worker failed on it
            chunks.results[j] = encoder.encode(chunks.chunks[j])
    return np.vstack(chunks.results)


def vectors_for(encoder: Encoder, texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
    """Unit vectors for ``texts`` (float32, one row each), re-encoding only texts in no cache."""
    unique = list(dict.fromkeys(texts))
    known: dict[str, np.ndarray] = {}
    with _MEMO_LOCK:
        memo = _MEMO.get(encoder.name)
    if memo:
        rows, matrix = memo
        known = {t: matrix[rows[t]] for t in unique if t in rows}
    missing = [t for t in unique if t not in known]
    disk = VectorCache(cache_dir, encoder) if cache_dir and missing else None
    if disk:
        known.update(disk.get(missing))
        missing = [t for t in unique if t not in known]
    if missing:
        with disk.encoding() if disk else contextlib.nullcontext():
            if disk:  # another process may have encoded them while this one waited
                known.update(disk.get(missing))
                missing = [t for t in unique if t not in known]
            if missing:
                log.info("encoding %d of %d texts with %s", len(missing), len(unique), encoder.name)
                fresh = encode_many(encoder, missing)
                if disk:
                    disk.put(missing, fresh)
                known.update(zip(missing, fresh, strict=True))
    matrix = np.empty((len(texts), encoder.dim), dtype=np.float32)
    for row, text in enumerate(texts):
        matrix[row] = known[text]
    return matrix


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
        starts = [0]
        for entry in self.entries:
            texts.extend(_entry_texts(entry))
            starts.append(len(texts))
        self._starts = np.asarray(starts, dtype=np.int64)
        self._owners = np.repeat(np.arange(len(self.entries)), np.diff(self._starts))
        self._vectors = vectors_for(encoder, texts, cache_dir)
        with _MEMO_LOCK:
            _MEMO[encoder.name] = ({t: i for i, t in enumerate(texts)}, self._vectors)
        # half-precision storage halves the memory faiss streams per query (the search is bound by it)
        # and moves cosines by about 1e-3; exact cosines come from self._vectors
        fp16, inner = faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        self._faiss = faiss.IndexScalarQuantizer(encoder.dim, fp16, inner)
        if len(texts):
            self._faiss.add(self._vectors)
        self._bm25 = bm25s.BM25()
        corpus = [_tokens(" ".join([*e.phrasings, *e.keywords])) for e in self.entries]  # one per entry
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        df: dict[str, int] = {}
        for entry in self.entries:
            for gram in _entry_grams(entry):
                df[gram] = df.get(gram, 0) + 1
        total = len(self.entries) + 1
        self._idf = {gram: math.log(total / (n + 0.5)) for gram, n in df.items()}
        self._unseen_idf = math.log(total / 0.5)  # a term no entry has is the rarest there is
        self._gram_memo: dict[int, tuple[list[tuple[str, set[str]]], set[str]]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def coverage(self, q_grams: set[str], grams: set[str]) -> float:
        """The IDF-weighted share of the question's bigrams ``q_grams`` found in an entry's ``grams``."""
        weights = {g: self._idf.get(g, self._unseen_idf) for g in q_grams}
        total = sum(weights.values())
        if not total:
            return 0.0
        return sum(w for g, w in weights.items() if g in grams) / total

    def _grams(self, i: int) -> tuple[list[tuple[str, set[str]]], set[str]]:
        """Entry ``i``'s phrasings with their bigrams, and all its bigrams: kept for the entries asked
        about most, since working them out was a third of a query's time."""
        found = self._gram_memo.get(i)
        if found is None:
            entry = self.entries[i]
            found = ([(p, bigrams(p)) for p in entry.phrasings], _entry_grams(entry))
            if len(self._gram_memo) >= GRAM_MEMO:
                self._gram_memo.clear()
            self._gram_memo[i] = found
        return found

    def score(self, query: str, entry: IndexedEntry, vector: np.ndarray | None = None) -> float:
        """``entry``'s confidence for the normalised ``query``, as ``search`` rates it; ``entry`` need
        not be in the index (a draft's preview), ``vector`` is the query's when already encoded."""
        texts = _entry_texts(entry)
        if not texts:
            return 0.0
        if vector is None:
            vector = self.encoder.encode([query])[0]
        cosine = float(np.max(self.encoder.encode(texts) @ vector))
        phrasings = [(p, bigrams(p)) for p in entry.phrasings]
        return self._confidence(query, bigrams(query), phrasings, _entry_grams(entry), cosine)

    def _confidence(
        self,
        query: str,
        q_grams: set[str],
        phrasings: list[tuple[str, set[str]]],
        grams: set[str],
        cosine: float,
    ) -> float:
        lexical = max((similarity(query, q_grams, p, g) for p, g in phrasings), default=0.0)
        return confidence(cosine, lexical, self.coverage(q_grams, grams))

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]:
        """The best ``limit`` (at most ``RESCORED``) entries valid on ``today`` for the normalised query."""
        if not query or not self.entries:
            return []
        vector = self.encoder.encode([query])
        depth = min(SHORTLIST * 3, self._faiss.ntotal)
        _, rows = self._faiss.search(vector, depth)
        cosine: dict[int, float] = {}
        for row in rows[0]:
            if row >= 0:
                cosine.setdefault(int(self._owners[row]), 0.0)  # faiss ranks; cosines are exact below
        semantic_rank = list(cosine)[:SHORTLIST]
        bm = self._bm25.get_scores(_tokens(query))
        depth = min(SHORTLIST, len(bm) - 1)
        top = np.argpartition(-bm, depth)[:depth] if depth > 0 else np.arange(len(bm))
        lexical_rank = [int(i) for i in top[np.argsort(-bm[top], kind="stable")] if bm[i] > 0]
        fused: dict[int, float] = {}
        for ranking in (semantic_rank, lexical_rank):
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        q_grams = bigrams(query)
        hits = []
        for i in sorted(fused, key=fused.__getitem__, reverse=True):
            entry = self.entries[i]
            if not entry.valid_on(today):
                continue
            own = self._vectors[self._starts[i] : self._starts[i + 1]]
            cos = float(np.max(own @ vector[0])) if len(own) else 0.0
            hits.append(Hit(entry, self._confidence(query, q_grams, *self._grams(i), cos)))
            if len(hits) >= RESCORED:
                break
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]
