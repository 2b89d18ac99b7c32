"""Migration 0012 (issue 16): the facts' columns are added to an existing tickets table without losing
a row or an event, read as "not recorded" on old tickets, and taken out again by the downgrade."""

from __future__ import annotations

from datetime import date

from sqlalchemy import create_engine, inspect, text

from intake.core.db import Database

FACTS = ("citizen_name", "contact_phone", "event_time", "event_date", "parties", "contact_consent")


def _old_tickets(conn) -> None:
    for i in (1, 2, 3):
        conn.execute(
            text(
                "INSERT INTO tickets (id, number, channel, sender, text, location, urgent, confidential,"
                " disposition, status, policy, created_at)"
                " VALUES (:id, :number, 'sms', '+8613912345678', :text, '瓢里街', 0, 0, 'dispatched',"
                " 'dispatched', 'longsheng', '2026-11-23 02:00:00')"
            ),
            {"id": i, "number": f"261123000{i}", "text": f"路灯坏了{i}"},
        )
        conn.execute(
            text(
                "INSERT INTO ticket_events (ticket_id, kind, actor, at, data)"
                " VALUES (:id, 'registered', 'sms:citizen', '2026-11-23 02:00:00', '{}')"
            ),
            {"id": i},
        )


def test_the_facts_columns_arrive_on_an_existing_database_and_leave_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = Database(url)
    try:
        db.upgrade("0011")
        with db.engine.begin() as conn:
            _old_tickets(conn)
        db.upgrade("0012")
        assert db.current_revision() == "0012"
        engine = create_engine(url)
        with engine.begin() as conn:
            columns = {c["name"]: c for c in inspect(conn).get_columns("tickets")}
            assert all(columns[name]["nullable"] for name in FACTS)
            rows = conn.execute(
                text(f"SELECT number, text, location, {', '.join(FACTS)} FROM tickets ORDER BY id")
            ).all()
            assert [tuple(r) for r in rows] == [
                (f"261123000{i}", f"路灯坏了{i}", "瓢里街", None, None, None, None, None, None)
                for i in (1, 2, 3)
            ]
            assert conn.scalar(text("SELECT count(*) FROM ticket_events")) == 3
            conn.execute(
                text(
                    "UPDATE tickets SET citizen_name = '张伟', event_date = :day, contact_consent = 1"
                    " WHERE id = 1"
                ),
                {"day": date(2026, 11, 22)},
            )
        engine.dispose()
        db.downgrade("0011")
        engine = create_engine(url)
        with engine.connect() as conn:
            assert not set(FACTS) & {c["name"] for c in inspect(conn).get_columns("tickets")}
            assert conn.scalar(text("SELECT count(*) FROM tickets")) == 3
            assert conn.scalar(text("SELECT count(*) FROM ticket_events")) == 3
        engine.dispose()
    finally:
        db.dispose()
