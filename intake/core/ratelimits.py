"""Where rate-limit counters live: Redis when the deployment has one (every worker shares the count),
else this process's memory (the embedded single-process default).

``limits``' own memory storage starts a non-daemon ``threading.Timer`` on every hit to drop expired
keys. A process that is stopping must wait for that timer, and where a timed wait does not return
(under a shifted clock, as in CI's faketime runs, every ``Event.wait(timeout)`` stalls) the process
never exits. The storage here is the same class with its expiry run in the caller's thread, at most
once a second, so no thread is ever left behind.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage, Storage, storage_from_string


class InlineExpiryMemoryStorage(MemoryStorage):
    """``limits.storage.MemoryStorage`` without its timer thread (see the module docstring)."""

    STORAGE_SCHEME = ["hotline-memory"]  # registered under its own name; "memory://" stays upstream's
    SWEEP_EVERY = 1.0  # seconds between two passes over the keys

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one timer upstream's __init__ started ends at once
        self._next_sweep = 0.0

    # upstream calls this (name-mangled) before every hit to make sure its timer runs
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def limit_storage(redis_url: str | None) -> Storage:
    """The counters' storage for a deployment: Redis at ``redis_url``, else in this process."""
    if redis_url:
        return storage_from_string(redis_url)
    return InlineExpiryMemoryStorage()
