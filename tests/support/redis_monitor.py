"""The commands a block of code sends to Redis, seen through MONITOR."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis as redis_lib


@contextmanager
def commands_sent(redis_url: str) -> Iterator[list[str]]:
    """Collect the names of the commands clients send to this database during the block.

    Commands that Lua scripts run are left out (they are not round trips), and so
    are the PINGs of idle listeners.
    """
    observer, marker = (redis_lib.Redis.from_url(redis_url) for _ in range(2))
    marker.ping()  # connected (and its database selected) before the monitor starts
    db = observer.connection_pool.connection_kwargs["db"]
    sent: list[str] = []
    with observer.monitor() as monitor:
        yield sent
        marker.echo("end-of-block")  # MONITOR lists commands in order: everything before is the block's
        for seen in monitor.listen():
            if seen["command"] == "ECHO end-of-block":
                break
            if seen["db"] == db and seen["client_type"] != "lua" and not seen["command"].startswith("PING"):
                sent.append(seen["command"].split()[0])
