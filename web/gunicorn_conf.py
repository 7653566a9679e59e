"""Gunicorn settings for the web process, taken from the service's Settings (``gunicorn -c python:web.gunicorn_conf``)."""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from jobqueue.logs import gunicorn_logconfig
from jobqueue.settings import Settings
from web.exposure import open_exposure


class AppLogsRequests(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no types: its Logger is Any
    """gunicorn's logger without its access line: the app logs each request itself.

    With a logconfig_dict, gunicorn builds every request's access-log fields
    (~30 µs a request) even though its access logger drops them.
    """

    @property
    def access_log_enabled(self) -> bool:
        return False


_settings = Settings.from_env()

# WEB_HOST: loopback unless told otherwise (an IPv6 address goes in brackets).
bind = (
    f"[{_settings.web_host}]:{_settings.port}"
    if ":" in _settings.web_host
    else f"{_settings.web_host}:{_settings.port}"
)
workers = _settings.web_concurrency
# POST /jobs?wait=N long-polls for up to 30 s and a waiting request holds a
# thread, so threads bound the number of concurrent long-polls per process
# (docs/performance.md compares this with gevent).
worker_class = _settings.web_worker_class
threads = _settings.web_threads
# Above the longest allowed wait, so a long poll is never taken for a hang.
timeout = int(_settings.max_wait_s) + 30
# Platforms send SIGKILL 30 s after SIGTERM; finish in-flight requests before that.
graceful_timeout = 25
# The app logs each request as a JSON line (web/requestlog.py), so gunicorn's
# access log is off, and its own messages are JSON too.
accesslog = None
logger_class = AppLogsRequests
logconfig_dict = gunicorn_logconfig(_settings.log_level)
# Each worker builds its own app (and Redis connections) after the fork.
preload_app = False


def on_starting(server: Any) -> None:
    """Refuse to start open (no API_KEYS) on an address other than loopback, unless ALLOW_OPEN=1.

    Checked on the addresses gunicorn will really bind, which ``--bind`` may have changed.
    gunicorn prints a RuntimeError raised here and exits with status 1.
    """
    problem = open_exposure(_settings, server.cfg.bind)
    if problem:
        raise RuntimeError(problem)
