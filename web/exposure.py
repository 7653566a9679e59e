"""Whether the web may listen where it is told to: an open service (no API_KEYS) only on loopback, unless ALLOW_OPEN."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from jobqueue.settings import Settings


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (a unix socket is local too)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = {sockaddr[0] for *_, sockaddr in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(ipaddress.ip_address(str(a).split("%", 1)[0]).is_loopback for a in found)


def open_exposure(settings: Settings, binds: Iterable[str]) -> str | None:
    """Why the web must not listen on ``binds`` (gunicorn's ``host:port`` or ``unix:path``), or None if it may.

    Without API_KEYS everyone who reaches the service is an admin: they can
    read and cancel every job, submit and train, and switch model versions.
    That is fine on loopback (one machine's own users, as under ``make run``),
    and anywhere else only when ALLOW_OPEN says so.
    """
    if settings.api_keys.strip() or settings.allow_open:
        return None
    exposed = [b for b in binds if not b.startswith("unix:") and not is_loopback(b.rsplit(":", 1)[0])]
    if not exposed:
        return None
    return (
        f"refusing to listen on {', '.join(exposed)} in open mode: API_KEYS is not set, so anyone who can reach "
        "that address could read, submit and cancel every job, train models and switch versions. Set API_KEYS, "
        "listen on 127.0.0.1 (WEB_HOST), or set ALLOW_OPEN=1 to serve open anyway."
    )
