"""Stopping a worker without losing work: a chunk being computed is finished before its process stops.

A platform stops a worker with SIGTERM and, a grace period later, SIGKILL (30 s
on a dyno; ``stop_grace_period`` in compose). Celery's warm shutdown waits for
running tasks; a global explanation runs as chunk tasks of a fraction of a
second each (``worker.fanout``), so the wait is short and the next chunk goes
to another worker. A dyno signals every process, the pool processes too: one
computing a chunk defers SIGTERM (``deferred_sigterm``) rather than dying with
the chunk half done, then records it and hands on the next.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def deferred_sigterm() -> Iterator[Callable[[], bool]]:
    """While active, SIGTERM no longer kills this process: the yielded check turns true instead.

    The hard time limit still kills, with SIGKILL 0.1 s after its SIGTERM.
    """
    received = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        # Handlers can be set only from the main thread; pool processes run tasks there.
        yield received.is_set
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.set())
    try:
        yield received.is_set
    finally:
        signal.signal(signal.SIGTERM, previous)
