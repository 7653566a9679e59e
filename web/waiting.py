"""Waking long-polling requests when their job ends: one pattern subscription per web process.

The job store's finish script publishes the finished record on the job's
channel; a single listener thread per process hands it to the requests
waiting on that job. A waiter registers before it reads (or, for a new job,
before the job exists), so an outcome cannot slip between the read and the
wait. No request polls Redis, and a woken request needs no further read.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.client import PubSub

from jobqueue import contract
from jobqueue.records import decode_record

log = logging.getLogger(__name__)

Record = dict[str, Any]


class Waiter:
    """One request waiting for one job."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._payload: bytes | None = None

    def notify(self, payload: bytes) -> None:
        self._payload = payload
        self._event.set()

    def wait(self, timeout_s: float) -> Record | None:
        """The published final record, or None on timeout or a bare notice (e.g. a cancel)."""
        if not self._event.wait(timeout_s) or not self._payload:
            return None
        try:
            raw = json.loads(self._payload)
        except ValueError:
            return None
        return decode_record(raw) if isinstance(raw, dict) else None


class CompletionListener:
    """Subscribes once to every job's done channel and dispatches to registered waiters."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._waiters: dict[str, set[Waiter]] = {}
        self._lock = threading.Lock()
        self._thread: Any = None
        self._outage_since: float | None = None

    @contextmanager
    def expect(self, job_id: str) -> Iterator[Waiter]:
        """Register interest in ``job_id`` for the duration of the block."""
        self._ensure_listening()
        waiter = Waiter()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(waiter)
        try:
            yield waiter
        finally:
            with self._lock:
                waiters = self._waiters.get(job_id)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiters[job_id]

    def wait_for(self, job_id: str, timeout_s: float, read: Callable[[], Record | None]) -> Record | None:
        """The job once it ends, or as it stands after ``timeout_s``; None if it does not exist."""
        with self.expect(job_id) as waiter:
            record = read()
            if record is None or record["status"] in contract.TERMINAL or timeout_s <= 0:
                return record
            return waiter.wait(timeout_s) or read()

    def _ensure_listening(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            # redis-py leaves Redis.pubsub() unannotated; it returns a PubSub.
            open_pubsub: Callable[..., PubSub] = self._client.pubsub
            pubsub = open_pubsub(ignore_subscribe_messages=True)
            pubsub.psubscribe(**{contract.done_channel("*"): self._dispatch})
            # get_message blocks in select() for up to sleep_time: no busy loop.
            self._thread = pubsub.run_in_thread(sleep_time=1.0, daemon=True, exception_handler=self._on_error)

    def _dispatch(self, message: dict[str, Any]) -> None:
        self._outage_since = None
        job_id = message["channel"].decode().rsplit(":", 1)[-1]
        with self._lock:
            waiters = list(self._waiters.get(job_id, ()))
        for waiter in waiters:
            waiter.notify(message["data"])

    def _on_error(self, exc: BaseException, pubsub: Any, thread: Any) -> None:
        # Waiters fall back to reading the record when their timeout ends; the
        # subscription is restored when Redis answers again. Warn once per outage.
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("job completion listener lost Redis, retrying: %s", exc)
        time.sleep(0.5)
