"""One JSON log line per request: method, route, status, duration, and the job it concerned.

The route is logged as its pattern (``/customers/<customer_id>``), never the
concrete path, so no customer id, query string, header or body reaches the logs.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, request

log = logging.getLogger("web.request")

# Platforms' request ids (Heroku's router sets X-Request-ID) tie a line to the router's log.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
JOB_PATH_RE = re.compile(r"^/jobs/([0-9a-f]{32})$")


def _job_id(response: Response) -> str | None:
    """The job a request created or addressed: its path, or the Location of a new one."""
    for candidate in (request.path, response.headers.get("Location", "")):
        found = JOB_PATH_RE.match(candidate)
        if found:
            return found.group(1)
    return None


def register_request_log(app: Flask) -> None:
    """Time every request and log it when its response is ready."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        request_id = request.headers.get("X-Request-ID", "")
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                "job_id": _job_id(response),
                "request_id": request_id if REQUEST_ID_RE.match(request_id) else None,
            },
        )
        return response
