"""Gunicorn settings for the web process, tunable through the environment."""
import os

from gunicorn import glogging

from worker.logs import gunicorn_logconfig


class AppLogsRequests(glogging.Logger):
    """gunicorn's logger without its access line: the app logs each request itself.

    With a logconfig_dict, gunicorn builds every request's access-log fields
    (~30 µs a request) even though its access logger drops them.
    """

    @property
    def access_log_enabled(self) -> bool:
        return False


bind = f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
# POST /jobs?wait=N long-polls for up to 30 s and a waiting request holds a
# thread, so threads bound the number of concurrent long-polls per process
# (docs/performance.md compares this with gevent).
worker_class = os.environ.get("WEB_WORKER_CLASS") or "gthread"
threads = int(os.environ.get("WEB_THREADS") or 32)
# Above the longest allowed wait, so a long poll is never taken for a hang.
timeout = 60
# Platforms send SIGKILL 30 s after SIGTERM; finish in-flight requests before that.
graceful_timeout = 25
# The app logs each request as a JSON line (web/requestlog.py), so gunicorn's
# access log is off, and its own messages are JSON too.
accesslog = None
logger_class = AppLogsRequests
logconfig_dict = gunicorn_logconfig()
# Each worker builds its own app (and Redis connections) after the fork.
preload_app = False
