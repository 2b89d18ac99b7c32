"""The spool: messages received while the database could not be reached, kept until it is back (issue 17).

A channel may tell a citizen their message was kept only if it was. When storing a message fails
because the database is down, ``Hotline.handle`` puts the message here exactly as it arrived (channel,
sender, text, the platform's id and the moment it was received, so deadlines still count from
receipt) and raises ``Spooled``; the channel says so in its own format. The worker's ``spool`` job
puts each kept message through the one pipeline once the database answers again, and the reply goes
out through the outbox where the medium can carry a late one.

Two stores, one interface:

- ``FileSpool``: one JSON file per message under ``instance/spool``, written to a temporary name,
  flushed to disk and renamed, so a crash never leaves half a message. A worker claims a file by
  renaming it (atomic on one file system: two workers never replay the same message); a claim whose
  worker died is given back after ``CLAIM_SECONDS``.
- ``RedisSpool`` (when ``HOTLINE_REDIS_URL`` is set): a hash all workers on all machines share, a
  claim key with an expiry per message. When Redis cannot take a message either, the file spool does.

A message without a platform id gets ``spool:<id>`` as its id, so a replay interrupted after the
message was stored is recognised as the same message and nothing is stored twice.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from intake.core.messages import Message

log = logging.getLogger(__name__)

CLAIM_SECONDS = 600  # a replay takes well under a second; a claim older than this lost its worker
MAX_ATTEMPTS = 5  # a message the pipeline keeps failing on goes to ``dead`` for a person to look at


class Spooled(RuntimeError):
    """The database could not be reached; the message is kept in the spool under ``ref``."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"message kept in the spool as {ref}")
        self.ref = ref


@dataclass(frozen=True)
class Kept:
    """One spooled message and how often its replay has failed."""

    ref: str
    message: Message
    attempts: int = 0


def encode(kept: Kept) -> str:
    m = kept.message
    return json.dumps(
        {
            "ref": kept.ref,
            "attempts": kept.attempts,
            "channel": m.channel,
            "sender": m.sender,
            "text": m.text,
            "channel_msg_id": m.channel_msg_id,
            "received_at": m.received_at.isoformat() if m.received_at else None,
            "kind": m.kind,
            "meta": m.meta,
        },
        ensure_ascii=False,
    )


def decode(raw: str | bytes) -> Kept:
    data = json.loads(raw)
    received = data.get("received_at")
    message = Message(
        channel=data["channel"],
        sender=data["sender"],
        text=data["text"],
        channel_msg_id=data.get("channel_msg_id"),
        received_at=datetime.fromisoformat(received) if received else None,
        kind=data.get("kind") or "text",
        meta=data.get("meta") or {},
    )
    return Kept(data["ref"], message, int(data.get("attempts") or 0))


def prepare(message: Message, now: datetime) -> Kept:
    """The message as it will be kept: stamped with its arrival and an id a replay recognises."""
    ref = uuid.uuid4().hex
    return Kept(
        ref,
        replace(
            message,
            received_at=message.received_at or now,
            channel_msg_id=message.channel_msg_id or f"spool:{ref}",
        ),
    )


class Spool(Protocol):
    def put(self, kept: Kept) -> None: ...

    def claim(self) -> Iterator[Kept]:
        """Each kept message, claimed for this worker; the caller then calls ``done`` or ``release``."""
        ...

    def done(self, kept: Kept) -> None: ...

    def release(self, kept: Kept, failed: bool) -> None: ...

    def count(self) -> int: ...


class FileSpool:
    """Kept messages as files in one folder of this machine."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.dead = folder / "dead"

    def put(self, kept: Kept) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write(self.folder / f"{kept.ref}.json", encode(kept))

    @staticmethod
    def _write(path: Path, body: str) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def claim(self) -> Iterator[Kept]:
        if not self.folder.is_dir():
            return
        self._give_back_stale()
        for path in sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
            claimed = path.with_name(f"{path.name}.claimed")
            try:
                os.rename(path, claimed)
                # the claim's time, by this process's clock: staleness is judged against the same clock
                now = time.time()
                os.utime(claimed, (now, now))
            except FileNotFoundError:  # another worker took it
                continue
            try:
                yield decode(claimed.read_text(encoding="utf-8"))
            except (ValueError, KeyError) as exc:
                log.error("spool: %s is unreadable (%s); moved to dead", path.name, exc)
                self.dead.mkdir(exist_ok=True)
                os.replace(claimed, self.dead / path.name)

    def _give_back_stale(self) -> None:
        horizon = time.time() - CLAIM_SECONDS
        for claimed in self.folder.glob("*.json.claimed"):
            try:
                if claimed.stat().st_mtime < horizon:
                    os.replace(claimed, claimed.with_name(claimed.name.removesuffix(".claimed")))
            except FileNotFoundError:
                continue

    def done(self, kept: Kept) -> None:
        (self.folder / f"{kept.ref}.json.claimed").unlink(missing_ok=True)

    def release(self, kept: Kept, failed: bool) -> None:
        claimed = self.folder / f"{kept.ref}.json.claimed"
        if not failed:
            os.replace(claimed, self.folder / f"{kept.ref}.json")
            return
        again = replace(kept, attempts=kept.attempts + 1)
        if again.attempts >= MAX_ATTEMPTS:
            self.dead.mkdir(exist_ok=True)
            self._write(self.dead / f"{kept.ref}.json", encode(again))
            claimed.unlink(missing_ok=True)
            log.error("spool: message %s failed %d times; moved to %s", kept.ref, again.attempts, self.dead)
            return
        self._write(self.folder / f"{kept.ref}.json", encode(again))
        claimed.unlink(missing_ok=True)

    def count(self) -> int:
        return sum(1 for _ in self.folder.glob("*.json*")) if self.folder.is_dir() else 0


class RedisSpool:
    """Kept messages in Redis, shared by every worker; falls back to ``fallback`` when Redis fails too."""

    def __init__(self, url: str, namespace: str, fallback: FileSpool) -> None:
        import redis  # the limits package's Redis client, already a dependency

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.key = f"{namespace}:spool"
        self.dead_key = f"{namespace}:spool:dead"
        self.fallback = fallback
        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)

    def _claim_key(self, ref: str) -> str:
        return f"{self.key}:claim:{ref}"

    def put(self, kept: Kept) -> None:
        try:
            self.client.hset(self.key, kept.ref, encode(kept))
        except self.errors as exc:
            log.warning("spool: Redis refused message %s (%s); kept on this machine", kept.ref, exc)
            self.fallback.put(kept)

    def claim(self) -> Iterator[Kept]:
        yield from self.fallback.claim()
        for ref, raw in self.client.hscan_iter(self.key):
            ref = ref.decode() if isinstance(ref, bytes) else ref
            if self.client.set(self._claim_key(ref), "1", nx=True, ex=CLAIM_SECONDS):
                yield replace(decode(raw), ref=ref)

    def _local(self, kept: Kept) -> bool:
        return (self.fallback.folder / f"{kept.ref}.json.claimed").exists()

    def done(self, kept: Kept) -> None:
        if self._local(kept):
            self.fallback.done(kept)
            return
        self.client.hdel(self.key, kept.ref)
        self.client.delete(self._claim_key(kept.ref))

    def release(self, kept: Kept, failed: bool) -> None:
        if self._local(kept):
            self.fallback.release(kept, failed)
            return
        if failed:
            again = replace(kept, attempts=kept.attempts + 1)
            if again.attempts >= MAX_ATTEMPTS:
                self.client.hset(self.dead_key, kept.ref, encode(again))
                self.client.hdel(self.key, kept.ref)
                log.error("spool: message %s failed %d times; moved to %s", kept.ref, again.attempts,
                          self.dead_key)  # fmt: skip
            else:
                self.client.hset(self.key, kept.ref, encode(again))
        self.client.delete(self._claim_key(kept.ref))

    def count(self) -> int:
        try:
            shared = int(self.client.hlen(self.key))
        except self.errors:
            shared = 0
        return shared + self.fallback.count()


def open_spool(instance_path: Path, redis_url: str | None, namespace: str) -> Spool:
    files = FileSpool(instance_path / "spool")
    return RedisSpool(redis_url, namespace, files) if redis_url else files


def replay(
    spool: Spool,
    handle: Callable[[Message], Any],  # the outcome, or the reply text
    deliver: Callable[[Kept, Any], None],
    unavailable: Callable[[BaseException], bool],
    limit: int = 100,
) -> int:
    """Put up to ``limit`` kept messages through ``handle`` and their outcomes to ``deliver``.

    Stops at the first sign the database is still down (the message stays kept). A message the
    pipeline stored but failed on counts as replayed: it is in the database now, marked ``failed``.
    Returns how many were replayed.
    """
    replayed = 0
    for kept in spool.claim():
        try:
            deliver(kept, handle(kept.message))
        except Exception as exc:
            if unavailable(exc):
                spool.release(kept, failed=False)
                log.info("spool: database still unavailable; %d replayed this pass", replayed)
                break
            if getattr(exc, "row_id", None) is not None:  # stored, then the pipeline failed: kept there
                spool.done(kept)
                replayed += 1
                continue
            log.exception("spool: replay of %s failed", kept.ref)
            spool.release(kept, failed=True)
            continue
        spool.done(kept)
        replayed += 1
        if replayed >= limit:
            break
    return replayed
