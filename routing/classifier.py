"""The learned category of a matter (issue 21): a logistic regression over the sentence vector the
pipeline already computes and hashed character n-grams, trained with scikit-learn by ``hotline train``.

Pack patterns stay what they are good for: a pack's ``classify`` rule that matches decides; the model
decides the rest, where the rules used to fall back to "consult if it reads like a question, else
help". The weights are plain arrays in an ``.npz`` file (``numpy.load(allow_pickle=False)``: a model
file cannot run code), keyed by the encoder they were trained with; under another encoder the model is
not used. The shipped file is ``routing/learned/category.npz``; a deployment's own training run writes
``<instance>/models/category.npz``, which wins.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).with_name("learned") / "category.npz"
HASHED_DIMS = 4096  # character 1-, 2- and 3-grams hashed (crc32) into this many features
NGRAMS = (1, 2, 3)
REGULARISATION = 8.0  # scikit-learn's C: chosen training on one writer and testing on the other


def grams(texts: Sequence[str], dims: int = HASHED_DIMS) -> np.ndarray:
    """Hashed, L2-normalised counts of each text's character n-grams (spaces dropped)."""
    out = np.zeros((len(texts), dims), dtype=np.float32)
    for row, text in enumerate(texts):
        chars = text.replace(" ", "")
        for n in NGRAMS:
            for i in range(len(chars) - n + 1):
                out[row, zlib.crc32(chars[i : i + n].encode()) % dims] += 1.0
        norm = float(np.linalg.norm(out[row]))
        if norm:
            out[row] /= norm
    return out


def features(texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    return np.hstack([np.asarray(vectors, dtype=np.float32), grams(texts)])


@dataclass(frozen=True)
class CategoryModel:
    """Weights of one trained model: ``probabilities = softmax(features @ coef.T + intercept)``."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    encoder: str
    trained_on: int  # how many labelled messages

    @classmethod
    def load(cls, path: Path) -> CategoryModel:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(tuple(meta["classes"]), data["coef"], data["intercept"], meta["encoder"], meta["n"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"classes": list(self.classes), "encoder": self.encoder, "n": self.trained_on}
        with path.open("wb") as f:  # np.savez on a path would add ".npz" to a name that has it
            np.savez_compressed(f, coef=self.coef, intercept=self.intercept, meta=np.array(json.dumps(meta)))

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        logits = features(texts, vectors) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


class CategoryClassifier:
    """A model with the encoder it needs; ``None`` from ``predict`` when it cannot be used."""

    def __init__(self, model: CategoryModel, encoder) -> None:
        self.model = model
        self.encoder = encoder

    @classmethod
    def for_encoder(cls, encoder, instance_path: Path | None = None) -> CategoryClassifier | None:
        """The deployment's own model if it has one, else the shipped one; ``None`` if neither fits."""
        own = instance_path / "models" / "category.npz" if instance_path else None
        for path in (own, SHIPPED):
            if path is None or not path.exists():
                continue
            model = CategoryModel.load(path)
            if model.encoder == getattr(encoder, "name", None):
                return cls(model, encoder)
            log.warning("category model %s was trained with %s, not %s: not used", path, model.encoder,
                        getattr(encoder, "name", None))  # fmt: skip
        return None

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely category of a normalised text and its probability."""
        vector = self.encoder.encode([text])
        probabilities = self.model.probabilities([text], vector)[0]
        best = int(np.argmax(probabilities))
        return self.model.classes[best], float(probabilities[best])


def read_labelled(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """``(text, category)`` of every accepted matter in corpus files (``tests/data/corpus`` format)."""
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if record.get("action") == "answer_or_ticket" and record.get("category"):
                    rows.append((record["text"], record["category"]))
    return rows


def train(examples: Sequence[tuple[str, str]], encoder, normalise) -> CategoryModel:
    """Fit the model on ``(text, category)`` pairs (scikit-learn is needed here, not to predict)."""
    from sklearn.linear_model import LogisticRegression

    texts = [normalise(text) for text, _ in examples]
    labels = [category for _, category in examples]
    fitted = LogisticRegression(C=REGULARISATION, max_iter=5000).fit(
        features(texts, encoder.encode(texts)), labels
    )
    return CategoryModel(
        classes=tuple(str(c) for c in fitted.classes_),
        coef=fitted.coef_.astype(np.float32),
        intercept=fitted.intercept_.astype(np.float32),
        encoder=encoder.name,
        trained_on=len(examples),
    )
