"""Real `hotline worker` processes on PostgreSQL: one is killed in the middle of a hand-off, and after
a restart the notice is delivered again and takes effect once.

The unit's endpoint applies each ``Idempotency-Key`` once, as the hand-off contract asks of receivers;
the hotline's side of the promise is that a killed worker loses nothing and its job runs again.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from routing.handoff import set_webhook
from routing.models import HandoffDelivery
from tests.routing.lifecycle_world import make_world


class HangingUnit:
    """A unit endpoint whose first answer never comes in time: the sender is killed while it waits."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.effects: set[str] = set()
        self.release = threading.Event()
        unit = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                first = not unit.keys
                unit.keys.append(key)
                unit.effects.add(key)  # the work is applied once per key
                if first:
                    unit.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notices"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def wait_for(condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(settings, log: Path) -> subprocess.Popen:
    env = os.environ | {
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
        "HOTLINE_POLICY": "longsheng",
    }
    with log.open("ab") as out:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--interval", "0.2"], env=env, stdout=out, stderr=out
        )


def test_a_worker_killed_mid_job_loses_nothing_and_the_job_takes_effect_once(settings, clock, tmp_path):
    # the workers run on the real clock, so the ticket is registered at the real moment too: on the
    # test clock's date it would be days old, and the workers would owe its unit a reminder as well
    clock.now = datetime.now(UTC)
    world = make_world(settings, clock, "longsheng")
    db = world.hotline.db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several worker processes share jobs on PostgreSQL; SQLite runs one worker")
    unit = HangingUnit()
    workers: list[subprocess.Popen] = []
    log = tmp_path / "workers.log"
    try:
        with db.session() as session:
            set_webhook(session, "cgj", unit.url, clock(), secret="s")
            session.commit()
        number = world.register(unit="cgj")

        def delivery() -> HandoffDelivery:
            with db.session() as session:
                return session.scalars(
                    select(HandoffDelivery).where(HandoffDelivery.ticket_number == number)
                ).one()

        doomed = start_worker(settings, log)
        workers.append(doomed)
        wait_for(lambda: unit.keys, what="the first worker's POST")
        doomed.kill()  # mid-job: the unit has the notice, the worker never hears back
        doomed.wait(10)
        assert delivery().status == "sending"  # still leased to the dead worker

        # the lease (two minutes) runs out; rather than wait, move it into the past
        with db.session() as session:
            row = session.get(HandoffDelivery, delivery().id)
            row.lease_until = datetime.now(UTC) - timedelta(seconds=1)
            session.commit()
        workers += [
            start_worker(settings, log),
            start_worker(settings, log),
        ]
        wait_for(lambda: delivery().status == "delivered", what="the delivery after the restart")

        assert unit.keys == [f"{number}:1", f"{number}:1"]  # sent again after the kill…
        assert unit.effects == {f"{number}:1"}  # …and applied once
        assert delivery().attempts >= 1
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(15)
            if worker.poll() is None:
                worker.kill()
        unit.close()
        db.dispose()
        print(log.read_text(errors="replace")[-3000:])  # shown when the test fails
