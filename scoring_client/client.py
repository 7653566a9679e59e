"""A small client for the scoring service: submit, poll, wait (bounded), cancel, list.

A 429 or 503 from the service means nothing was accepted, so the client waits
the ``Retry-After`` it was given and tries again, for at most ``max_retry_s``
in all. Every submission carries an ``Idempotency-Key`` (a fresh one unless
given), so a retried submission can never create a second job.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
RETRYABLE = frozenset({429, 503})
MAX_SERVER_WAIT_S = 30  # the longest ?wait the service holds a request


FIELDS_IN_MESSAGE = 3  # field errors an ApiError's message quotes; .details has them all


class ApiError(Exception):
    """An error answer: its HTTP status and the contract's error body.

    Its message quotes the first field errors (``HTTP 422 validation_error: the
    input does not fit the model's schema (input.city: String should have at
    least 1 character)``); ``details`` lists every one.
    """

    def __init__(self, status: int, body: dict[str, Any], retry_after: float | None = None) -> None:
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        details = error.get("details")
        self.status = status
        self.type = error.get("type", "")
        self.message = error.get("message", "")
        self.details: list[dict[str, Any]] = (
            [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        )
        self.retry_after = retry_after
        super().__init__(f"HTTP {status} {self.type or 'error'}: {self.message}{self._fields()}")

    def _fields(self) -> str:
        quoted = [
            f"{d['field']}: {d.get('message', '')}" if d.get("field") else str(d.get("message", ""))
            for d in self.details[:FIELDS_IN_MESSAGE]
        ]
        more = len(self.details) - FIELDS_IN_MESSAGE
        return f" ({'; '.join(quoted)}{f'; and {more} more' if more > 0 else ''})" if quoted else ""


class JobTimeout(TimeoutError):
    """The job had not ended when the wait ran out; ``job`` is its last known state."""

    def __init__(self, job: dict[str, Any], waited_s: float) -> None:
        super().__init__(f"job {job.get('id')} still {job.get('status')} after {waited_s:.1f} s")
        self.job = job


class ScoringClient:
    """One service, one API key (or none, for an open service)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 10.0,
        max_retry_s: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retry_s = max_retry_s
        self.session = session or requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def submit(
        self,
        job: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        wait_s: float | None = None,
    ) -> dict[str, Any]:
        """Submit a job (``{"model": ..., "input": ...}``); returns it, finished if ``wait_s`` sufficed."""
        body = dict(job, callback_url=callback_url) if callback_url else job
        params = {"wait": f"{min(wait_s, MAX_SERVER_WAIT_S):g}"} if wait_s else None
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return self._call(
            "POST", "/jobs", json=body, params=params, headers=headers, timeout=self.timeout_s + (wait_s or 0)
        )

    def get(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/jobs/{job_id}")

    def jobs(self, **query: Any) -> dict[str, Any]:
        """A page of this key's jobs, newest first: ``model``, ``status``, ``limit``, ``cursor``."""
        return self._call("GET", "/jobs", params={k: v for k, v in query.items() if v is not None})

    def wait(self, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """The job once it has ended; JobTimeout if it has not within ``timeout_s`` in total."""
        started = time.monotonic()
        deadline = started + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            hold = max(0.0, min(remaining, MAX_SERVER_WAIT_S))
            job = self._call(
                "GET",
                f"/jobs/{job_id}",
                params={"wait": f"{hold:.3f}"},
                timeout=self.timeout_s + hold,
                deadline=deadline,
            )
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() >= deadline:
                raise JobTimeout(job, time.monotonic() - started)

    def _call(
        self, method: str, path: str, *, timeout: float | None = None, deadline: float | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        retry_until = time.monotonic() + self.max_retry_s if deadline is None else deadline
        while True:
            response = self.session.request(method, self.base_url + path, timeout=timeout or self.timeout_s, **kwargs)
            try:
                body: dict[str, Any] = response.json()
            except ValueError:
                body = {"error": {"type": "not_json", "message": response.text[:200]}}
            if response.ok:
                return body
            retry_after = _seconds(response.headers.get("Retry-After"))
            if (
                response.status_code in RETRYABLE
                and retry_after is not None
                and time.monotonic() + retry_after <= retry_until
            ):
                time.sleep(retry_after)
                continue
            raise ApiError(response.status_code, body, retry_after)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: this service never sends one
