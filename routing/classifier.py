"""The learned judgements of a matter (issue 21): logistic regressions over the sentence vector the
pipeline already computes and hashed character n-grams, trained with scikit-learn by ``hotline train``.

Heads, one file each:

- ``category``: the category no pack ``classify`` rule names (it used to be "consult if it reads like a
  question, else help");
- ``redirect``: the redirect code, or ``none``; ``decline``: the decline reason, or ``none``. They
  decide only where no pack rule matched, only above the head's threshold, and only among the codes
  the pack has (``Classifier.refusal``): a code the regulation does not name is never produced.

Pack patterns stay what they are good for: a pack rule that matches (and cites its article) decides;
the models decide the rest. The weights are plain arrays in ``.npz`` files
(``numpy.load(allow_pickle=False)``: a model file cannot run code), keyed by the encoder they were
trained with; under another encoder a model is not used. The shipped files are
``routing/learned/<head>.npz``; a deployment's own training run writes ``<instance>/models/<head>.npz``,
which wins.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

LEARNED = Path(__file__).with_name("learned")
SHIPPED = LEARNED / "category.npz"
HASHED_DIMS = 4096  # character 1-, 2- and 3-grams hashed (crc32) into this many features
NGRAMS = (1, 2, 3)
HEADS = ("category", "redirect", "decline")
NONE = "none"  # the redirect and decline heads' "not one of these"
# scikit-learn's C per head and the probability a refusal needs, both chosen training on one writer and
# testing on the other (README, "The learned category model"): precision first, since a wrong redirect
# sends a citizen away and a wrong decline refuses them. The category has no threshold: a pack without a
# rule must still file the matter under some category.
REGULARISATION = {"category": 8.0, "redirect": 32.0, "decline": 32.0}
THRESHOLDS = {"redirect": 0.3, "decline": 0.7}
# decided from the citizen's history (intake.conversations), never from the text alone
HISTORY_DECLINES = frozenset({"duplicate", "already_resolved"})


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
    """The model's input: the sentence vectors beside the hashed n-grams."""
    return np.hstack([np.asarray(vectors, dtype=np.float32), grams(texts)])


@dataclass(frozen=True)
class HeadModel:
    """Weights of one trained head: ``probabilities = softmax(features @ coef.T + intercept)``."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    encoder: str
    trained_on: int  # how many labelled messages
    head: str = "category"
    threshold: float | None = None  # the probability a refusal needs (redirect, decline)

    @classmethod
    def load(cls, path: Path) -> HeadModel:
        """Read a model file written by ``save`` (no pickled objects are accepted)."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                tuple(meta["classes"]), data["coef"], data["intercept"], meta["encoder"], meta["n"],
                meta.get("head", "category"), meta.get("threshold"),
            )  # fmt: skip

    def save(self, path: Path) -> None:
        """Write the weights as plain arrays and the rest as one JSON string."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "classes": list(self.classes),
            "encoder": self.encoder,
            "n": self.trained_on,
            "head": self.head,
        }
        if self.threshold is not None:
            meta["threshold"] = self.threshold
        with path.open("wb") as f:  # np.savez on a path would add ".npz" to a name that has it
            np.savez_compressed(f, coef=self.coef, intercept=self.intercept, meta=np.array(json.dumps(meta)))

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One row of class probabilities per text, in the order of ``classes``."""
        return self.from_features(features(texts, vectors))

    def from_features(self, x: np.ndarray) -> np.ndarray:
        if len(self.classes) == 2:  # scikit-learn keeps one row of weights for two classes
            p = 1.0 / (1.0 + np.exp(-(x @ self.coef.T + self.intercept)[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits = x @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


CategoryModel = HeadModel  # the name the first slice gave it


def model_path(folder: Path, head: str) -> Path:
    return folder / f"{head}.npz"


class Classifier:
    """The heads that fit the encoder; ``for_encoder`` is ``None`` when the category head does not."""

    def __init__(self, model: HeadModel, encoder, heads: Mapping[str, HeadModel] | None = None) -> None:
        self.model = model  # the category head
        self.encoder = encoder
        self.heads = dict(heads or {})

    @classmethod
    def for_encoder(cls, encoder, instance_path: Path | None = None) -> Classifier | None:
        """The deployment's own models where it has them, else the shipped ones; only those of ``encoder``."""
        found = {head: model for head in HEADS if (model := _load_head(head, encoder, instance_path))}
        if "category" not in found:
            return None
        return cls(found.pop("category"), encoder, found)

    def predict(self, text: str) -> tuple[str, float]:
        """The most likely category of a normalised text and its probability."""
        probabilities = self.model.probabilities([text], self.encoder.encode([text]))[0]
        best = int(np.argmax(probabilities))
        return self.model.classes[best], float(probabilities[best])

    def refusal(self, head: str, text: str, allowed: Collection[str]) -> tuple[str, float] | None:
        """The code of ``head`` (redirect, decline) for a normalised text, if the model is sure enough.

        Only the codes in ``allowed`` (the pack's) can come out: the probability of a code the pack does
        not have counts as "none". ``None`` when the head is missing or no allowed code reaches the
        head's threshold.
        """
        model = self.heads.get(head)
        if model is None:
            return None
        probabilities = model.probabilities([text], self.encoder.encode([text]))[0]
        choices = [
            (float(p), code)
            for code, p in zip(model.classes, probabilities, strict=True)
            if code != NONE and code in allowed and code not in HISTORY_DECLINES
        ]
        if not choices:
            return None
        p, code = max(choices)
        return (code, p) if p >= (model.threshold or THRESHOLDS.get(head, 0.5)) else None


CategoryClassifier = Classifier  # the name intake.hotline builds it by


def _load_head(head: str, encoder, instance_path: Path | None) -> HeadModel | None:
    name = getattr(encoder, "name", None)
    for folder in (instance_path / "models" if instance_path else None, LEARNED):
        path = folder and model_path(folder, head)
        if path is None or not path.exists():
            continue
        model = HeadModel.load(path)
        if model.encoder == name:
            return model
        log.warning("%s model %s was trained with %s, not %s: not used", head, path, model.encoder, name)
    return None


# ---------------------------------------------------------------- labelled examples and training


def labels_of(record: Mapping) -> dict[str, str]:
    """What one corpus row (``tests/data/corpus`` format) teaches each head."""
    action = record.get("action")
    out = {
        "redirect": (record.get("redirect_to") or NONE) if action == "redirect" else NONE,
        "decline": (record.get("decline_reason") or NONE) if action == "decline" else NONE,
    }
    if action == "answer_or_ticket" and record.get("category"):
        out["category"] = record["category"]
    return out


def read_examples(paths: Iterable[Path]) -> dict[str, list[tuple[str, str]]]:
    """``(text, label)`` for every head from corpus files: every row teaches redirect and decline, the
    accepted matters with a category teach the category."""
    examples: dict[str, list[tuple[str, str]]] = {head: [] for head in HEADS}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                for head, label in labels_of(record).items():
                    examples[head].append((record["text"], label))
    return examples


def read_labelled(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """``(text, category)`` of every accepted matter in corpus files."""
    return read_examples(paths)["category"]


def overrule(
    examples: Sequence[tuple[str, str]], corrections: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``examples`` with the office's corrections added; a corrected text's other labels are dropped,
    since the office has the last word on its own tickets."""
    corrected = {text for text, _ in corrections}
    return [(t, label) for t, label in examples if t not in corrected] + list(corrections)


def train(
    examples: Sequence[tuple[str, str]], encoder, normalise: Callable[[str], str], head: str = "category",
    regularisation: float | None = None, vectors: Callable[[list[str]], np.ndarray] | None = None,
) -> HeadModel:  # fmt: skip
    """Fit one head on ``(text, label)`` pairs (scikit-learn is needed here, not to predict).

    ``vectors`` may supply the sentence vectors (shared between heads trained on the same texts).
    """
    from sklearn.linear_model import LogisticRegression

    texts = [normalise(text) for text, _ in examples]
    labels = [label for _, label in examples]
    if len(set(labels)) < 2:
        raise ValueError(f"{head}: the examples hold fewer than two labels")
    c = regularisation or REGULARISATION.get(head, REGULARISATION["category"])
    encoded = vectors(texts) if vectors else encoder.encode(texts)
    fitted = LogisticRegression(C=c, max_iter=5000).fit(features(texts, encoded), labels)
    return HeadModel(
        classes=tuple(str(label) for label in fitted.classes_),
        coef=fitted.coef_.astype(np.float32),
        intercept=fitted.intercept_.astype(np.float32),
        encoder=encoder.name,
        trained_on=len(examples),
        head=head,
        threshold=THRESHOLDS.get(head),
    )


def vector_cache(encoder) -> Callable[[list[str]], np.ndarray]:
    """Encode texts once for several heads: the same corpus feeds all of them."""
    seen: dict[str, np.ndarray] = {}

    def encode(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in seen))
        if missing:
            seen.update(zip(missing, encoder.encode(missing), strict=True))
        return np.stack([seen[t] for t in texts]) if texts else encoder.encode([])

    return encode
