"""`hotline worker`: the background jobs — messages kept during an outage, the outbox, silent chats,
survey time-outs, hand-offs.

Every job is a function of the hotline that claims its own work in the database (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so any number of workers on any number of machines can run side by side:
two never take the same item, and an item whose worker died is taken again when its lease runs out.
The embedded default is one worker on SQLite, which has no row locks and needs none.

The worker lives in ``channels`` because it owns the outbound clients (Twilio, WeChat).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import click

from channels.senders import build_senders
from channels.survey_calls import place_due_calls
from intake.core.outbox import Sender
from intake.hotline import Hotline
from kb import questions
from routing import supervision

log = logging.getLogger(__name__)

Job = Callable[[], int]


@dataclass
class Worker:
    """Runs each job in turn, then sleeps; a failing job is logged and does not stop the others."""

    hotline: Hotline
    senders: dict[str, Sender] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not self.jobs:
            self.jobs = {
                "spool": self.hotline.replay_spool,
                "outbox": lambda: self.hotline.outbox.deliver_due(self.senders).total,
                "sweep": self.hotline.intake.sweep,
                "surveys": self._expire_surveys,
                "handoffs": self._handoffs,
                "reminders": lambda: len(supervision.send_reminders(self.hotline.lifecycle)),
                "cards": lambda: len(supervision.update_cards(self.hotline.lifecycle)),
                "callbacks": lambda: place_due_calls(self.hotline),
                "knowledge": lambda: questions.flag_overdue_job(self.hotline.db, self.hotline.clock()),
            }

    def _handoffs(self) -> int:
        report = self.hotline.lifecycle.deliver_handoffs()
        return len(report.adopted) + report.total

    def _expire_surveys(self) -> int:
        with self.hotline.db.session() as session:
            settled = self.hotline.surveys.expire(session, self.hotline.clock())
            session.commit()
            return settled

    def run_once(self) -> dict[str, int]:
        """One pass over every job; returns how many items each handled (-1 where the job failed)."""
        done: dict[str, int] = {}
        for name, job in self.jobs.items():
            try:
                done[name] = job()
            except Exception:
                log.exception("job %s failed; it runs again on the next pass", name)
                done[name] = -1
        return done

    def run(self, interval: float) -> None:
        """Pass after pass until ``stop`` is set (SIGTERM and SIGINT set it)."""
        while not self.stop.is_set():
            done = self.run_once()
            if any(count > 0 for count in done.values()):
                log.info("worker pass: %s", ", ".join(f"{k}={v}" for k, v in done.items() if v))
                continue  # there may be more right away
            self.stop.wait(interval)


@click.command("worker")
@click.option("--once", is_flag=True, help="Run every job once and exit (for cron or a test).")
@click.option("--interval", default=5.0, show_default=True, help="Seconds to rest when idle.")
@click.pass_obj
def worker_command(hotline_factory: Callable[[], Hotline], once: bool, interval: float) -> None:
    """Run the background jobs: spool, outbox, chats, surveys, hand-offs, reminders, cards, call-backs,
    knowledge."""
    hotline = hotline_factory()
    senders = build_senders(hotline.settings)
    missing = {"sms", "wechat"} - set(senders)
    if missing:
        waiting = ", ".join(sorted(missing))
        log.warning("no sender configured for %s: those messages wait in the outbox", waiting)
    worker = Worker(hotline, senders)
    if once:
        click.echo(" ".join(f"{k}={v}" for k, v in worker.run_once().items()))
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("worker stopping after the current pass")
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("worker started (%s)", ", ".join(worker.jobs))
    worker.run(interval)
