"""One JSON object per log line, in the same shape from the web, the workers and gunicorn itself.

Each line has ``time``, ``level``, ``logger``, ``message`` and ``process``,
plus whatever the call passed as ``extra`` (request and job fields). Callers
pass identifiers, timings and outcomes only: never a request body, a customer
record, a header or a URL with credentials.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

FIELDS = ["levelname", "name", "message", "process"]
RENAMED = {"levelname": "level", "name": "logger"}


def json_formatter() -> logging.Formatter:
    """The formatter every process uses (also named in gunicorn's ``logconfig_dict``)."""
    return JsonFormatter(FIELDS, rename_fields=RENAMED, timestamp="time", json_ensure_ascii=False)


class _JsonHandler(logging.StreamHandler[IO[str]]):
    """The root handler this module installs; a marker class, so a second set-up replaces it."""


def configure_logging(level: str | int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Send every logger's records to ``stream`` (default: the process's real stderr) as JSON lines.

    Idempotent: calling it again (each app built in one process, each Celery
    pool process) replaces this module's handler instead of adding another.
    """
    detach_logging()
    handler = _JsonHandler(stream or sys.__stderr__)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs each connection's host and each request's path at DEBUG: a callback URL's path
    # or query may hold its receiver's token. Its warnings still come through.
    logging.getLogger("urllib3").setLevel(max(logging.WARNING, root.level))


def detach_logging() -> None:
    """Remove the handler ``configure_logging`` installed (tests do, once their session ends)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(handler)


def exception_fields(exc: BaseException) -> dict[str, str]:
    """An exception's type and stack, without its message: messages can quote the input that caused them."""
    return {"error_type": type(exc).__name__, "traceback": "".join(traceback.format_tb(exc.__traceback__))}


def gunicorn_logconfig(level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own messages as JSON, no access log (the app logs each
    request), and the root logger left to the app. gunicorn merges only the top-level keys."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
        "formatters": {"generic": {"()": "jobqueue.logs.json_formatter"}},
    }
