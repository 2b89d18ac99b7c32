"""How fast the office's queue answers on a large deployment: ``python -m routing.queue_benchmark``.

Fills a fresh database (SQLite in a temporary folder, or ``--database-url``, e.g. the CI's PostgreSQL)
with ``--tickets`` tickets (default 100,000) spread over a year, in the mix of stages a county has,
then times every saved view and a few filter combinations through ``routing.queue.search`` (one page,
the total and all eight view counts, as the page asks). The baseline, measured in the same run, is
what a queue without SQL filtering would do: load every ticket's stage and due into Python and filter
there. Figures are printed, never asserted: a timed unit test fails on a busy machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from intake.core.db import Database
from intake.core.models import Ticket, TicketEvent
from routing.queue import Clock, Filters, search

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=TZ)
STATUSES = [  # (status, disposition, share)
    ("closed", "answered", 40), ("closed", "dispatched", 35), ("signed", "dispatched", 8),
    ("dispatched", "dispatched", 4), ("replied", "dispatched", 3), ("reviewed", "dispatched", 2),
    ("returned", "dispatched", 1), ("extension_requested", "dispatched", 1), ("extended", "dispatched", 2),
    ("registered", "dispatched", 1), ("closed", "transferred", 3),
]  # fmt: skip
CASES = {
    "all, newest first": {},
    "待派单": {"view": "to_dispatch"},
    "已超期": {"view": "overdue"},
    "即将超期": {"view": "due_soon"},
    "重点事项": {"view": "key_items"},
    "unit + category": {"unit": "cgj", "category": "complaint"},
    "words 路灯": {"words": "路灯"},
    "a week, by due": {"since": "2026-11-23", "until": "2026-11-29", "sort": "due"},
    "page 40": {"page": "40"},
}


def fill(db: Database, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    choices = [(s, d) for s, d, share in STATUSES for _ in range(share)]
    units = ["cgj", "jyj", "wsj", "gaj", "zjj", "lsz", "plz", "smz"]
    texts = ["路灯坏了", "垃圾没人清理", "噪音扰民", "拖欠工资", "社保卡怎么补办", "井盖松动", "油烟太大"]
    rows, events = [], []
    start = NOW - timedelta(days=365)
    for i in range(count):
        status, disposition = rng.choice(choices)
        created = start + timedelta(seconds=rng.randrange(365 * 86400))
        due = None
        if disposition == "dispatched":
            due = (created.astimezone(TZ).date() + timedelta(days=rng.randrange(2, 25))).isoformat()
        rows.append(
            {
                "id": i + 1, "number": f"B{i:09d}", "channel": rng.choice(["voice", "sms", "wechat", "web"]),
                "sender": f"+86139{i:08d}", "text": f"{rng.choice(texts)}，第{i}号",
                "disposition": disposition,
                "status": status, "unit_code": rng.choice(units) if disposition == "dispatched" else None,
                "category": rng.choice(["consult", "help", "complaint", "report", "suggestion"]),
                "urgent": rng.random() < 0.03, "confidential": False, "due": due, "policy": "longsheng",
                "created_at": created.astimezone(UTC), "card": rng.choice([None] * 8 + ["yellow", "red"]),
            }
        )  # fmt: skip
        if rng.random() < 0.005:
            events.append(
                {"ticket_id": i + 1, "kind": "key_item", "actor": "system", "at": created, "data": {}}
            )
    with db.session() as session:
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Ticket), rows[chunk : chunk + 5000])
        if events:
            session.execute(insert(TicketEvent), events)
        session.commit()


def baseline(db: Database) -> float:
    """Load every ticket's stage and due and count the overdue ones in Python (one query)."""
    clock = Clock.at(NOW, TZ)
    began = time.perf_counter()
    with db.session() as session:
        rows = session.execute(select(Ticket.status, Ticket.disposition, Ticket.due)).all()
    _ = sum(1 for s, d, due in rows if d == "dispatched" and s != "closed" and due and due < clock.today)
    return time.perf_counter() - began


def timed(db: Database, query: dict[str, str], repeat: int) -> tuple[float, int]:
    filters = Filters.parse(query)
    times, total = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        with db.session() as session:
            total = search(session, filters, NOW, TZ).total
        times.append(time.perf_counter() - began)
    return statistics.median(times), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'queue.sqlite3'}"
        db = Database(url)
        db.upgrade()
        began = time.perf_counter()
        fill(db, args.tickets)
        print(
            f"{args.tickets} tickets written in {time.perf_counter() - began:.1f} s "
            f"({db.engine.dialect.name})"
        )
        base = statistics.median(baseline(db) for _ in range(args.repeat))
        print(f"baseline (load every ticket, filter in Python): {base * 1000:.0f} ms\n")
        print(f"{'query':<22} {'total':>8} {'ms':>8} {'× baseline':>11}")
        for name, query in CASES.items():
            spent, total = timed(db, query, args.repeat)
            print(f"{name:<22} {total:>8} {spent * 1000:>8.0f} {spent / base:>11.2f}")
        db.engine.dispose()


if __name__ == "__main__":
    main()
