"""A local port whose connection attempts go unanswered, as behind a firewall that drops packets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dropping_port() -> Iterator[int]:
    """A listener that never accepts, its backlog filled: Linux drops the SYNs beyond it.

    Used to measure and test how fast a client gives up on a Redis it cannot reach.
    """
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    filler = [socket.socket() for _ in range(4)]  # Linux queues backlog + 1; the rest are dropped
    for sock in filler:
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
    time.sleep(0.2)  # the queued handshakes settle before anyone measures against the port
    try:
        yield port
    finally:
        for sock in filler:
            sock.close()
        listener.close()
