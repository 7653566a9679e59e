"""The jobs resource: POST /jobs, GET /jobs, GET and DELETE /jobs/<id>.

Reads outlive Redis: a job Redis has forgotten (after JOB_TTL_S) is read from
the archive, with the same body and the same tenant rule, and the listing
pages through both (``jobqueue.history``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError

from jobqueue import contract
from jobqueue.archive import Archive, HistoryQuery
from jobqueue.celery_client import send_callback
from jobqueue.history import history_page
from jobqueue.store import JobStore
from jobqueue.view import job_view
from models.validation import field_errors
from web import auth
from web.api_keys import ADMIN
from web.errors import ApiError
from web.json_body import parse_json_body
from web.pagination import page_args
from web.schemas import JobRequest

bp = Blueprint("jobs", __name__)
log = logging.getLogger(__name__)

# Matched against the whole string (fullmatch); the spec states the same patterns.
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")
CURSOR_RE = re.compile(r"^[0-9]{17}:[0-9a-f]{32}$")
CUSTOMER_ID_RE = re.compile(r"^[1-9][0-9]{0,18}$")
MAX_CUSTOMER_ID = 2**63 - 1
Read = TypeVar("Read")
# RFC 3339's date-time, as the spec says (fromisoformat alone also takes dates and compact forms).
RFC3339_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
# Index members (and cursors) carry the creation time as 17 digits of microseconds.
MAX_MICROS = 10**17 - 1


def _ext(name: str) -> Any:
    return current_app.extensions[name]


def _wait_seconds() -> float | None:
    raw = request.args.get("wait")
    if raw is None:
        return None
    limit = current_app.config["SETTINGS"].max_wait_s
    try:
        wait = float(raw)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= limit:
        raise ApiError(
            422,
            "validation_error",
            "invalid wait",
            [{"field": "wait", "type": "out_of_range", "message": f"seconds between 0 and {limit:g}"}],
        )
    return wait


def _job_response(record: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(job_view(record))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def from_archive(read: Callable[[Archive], Read]) -> Read:
    """``read(archive)``; a 503 saying so if the database cannot be reached."""
    try:
        return read(_ext("archive"))
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        log.warning("archive unavailable: %s", type(exc).__name__)
        raise ApiError(
            503,
            "archive_unavailable",
            "the job archive cannot be reached; retry later",
            headers={"Retry-After": str(current_app.config["SETTINGS"].retry_after_s)},
        ) from exc


def find_job(job_id: str) -> dict[str, Any] | None:
    """The job's record from Redis, else from the archive (Redis has forgotten it); None if neither has it."""
    if not JOB_ID_RE.fullmatch(job_id):
        return None
    store: JobStore = _ext("jobs")
    return store.get(job_id) or from_archive(lambda archive: archive.get(job_id))


def _existing(job_id: str) -> dict[str, Any]:
    record = find_job(job_id)
    # Another tenant's job is indistinguishable from one never issued.
    if record is None or record.get("tenant", "") != auth.principal().tenant:
        raise ApiError(404, "unknown_job", f"no job {job_id!r}: never issued, or expired")
    return record


@bp.post("/jobs")
def submit_job() -> Response:
    """Validate, record and queue a job; 202 with its Location, or 200 if ?wait saw it finish."""
    wait = _wait_seconds()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters")
    body = parse_json_body()
    try:
        job_request = JobRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "the request does not fit the contract", field_errors(exc, [])) from exc
    if job_request.task in auth.ADMIN_TASKS:
        auth.check_role(ADMIN, f"task {job_request.task!r}")
    listener, job_id = _ext("completions"), uuid.uuid4().hex
    # Listen before the job exists: a fast worker may finish it before submit() returns.
    with listener.expect(job_id) as waiter:
        record, created = _ext("submitter").submit(job_request, body, key, auth.principal().tenant, job_id)
        if wait and record["status"] not in contract.TERMINAL:
            if created:
                record = waiter.wait(wait) or _ext("jobs").get(job_id) or record
            else:
                record = listener.wait_for(record["id"], wait, lambda: _ext("jobs").get(record["id"])) or record
    headers = {"Location": f"/jobs/{record['id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return _job_response(record, 200 if record["status"] in contract.TERMINAL and wait is not None else 202, headers)


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    """The job; with ?wait=N, held until it ends or N seconds pass."""
    wait = _wait_seconds()

    def read() -> dict[str, Any]:
        return _existing(job_id)  # 404 for an unknown job or another tenant's

    record = _ext("completions").wait_for(job_id, wait, read) if wait else read()
    return _job_response(record, 200)


@bp.delete("/jobs/<job_id>")
def cancel_job(job_id: str) -> Response:
    """Cancel a job that has not started, or a running heavy job (it stops between chunks); else 409."""
    _existing(job_id)
    canceled = _ext("jobs").cancel(job_id)
    record = _existing(job_id)
    if canceled:
        log.info(
            "job_canceled",
            extra={
                "job_id": job_id,
                "model": record["model"],
                "model_version": record["model_version"],
                "queue": record["queue"],
                "task": record["task"],
                "status": contract.CANCELED,
            },
        )
    if canceled.callback_due:
        send_callback(_ext("celery"), job_id)
    if record["status"] == contract.CANCELED:
        return _job_response(record, 200)
    state = "is already running" if record["status"] == contract.RUNNING else f"has already ended: {record['status']}"
    raise ApiError(
        409,
        "not_cancelable",
        f"the job {state}; only queued jobs, and running jobs of the heavy queue (explanations), can be canceled",
    )


def _moment(name: str, details: list[dict[str, str]]) -> int | None:
    """Query parameter ``name`` as an RFC 3339 time, in microseconds since the epoch, clamped to the span
    job ids can carry."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not RFC3339_RE.fullmatch(raw):
            raise ValueError(raw)
        moment = dt.datetime.fromisoformat(raw.upper())
    except ValueError:
        details.append(
            {"field": name, "type": "invalid", "message": "an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z"}
        )
        return None
    try:
        micros = int(moment.timestamp() * 1_000_000)
    except (OverflowError, ValueError):  # year 1 with a positive offset: before the epoch anyway
        micros = 0
    return min(max(micros, 0), MAX_MICROS)


@bp.get("/jobs")
def list_jobs() -> Response:
    """A tenant's jobs, newest first, over any period: the prediction history (Redis and the archive)."""
    args = request.args
    limit, cursor, details = page_args(CURSOR_RE)
    status = args.get("status") or None
    if status is not None and status not in contract.STATUSES:
        details.insert(0, {"field": "status", "type": "enum", "message": "one of " + ", ".join(contract.STATUSES)})
    since_us, until_us = _moment("since", details), _moment("until", details)
    customer = args.get("customer_id")
    if customer is not None and not (CUSTOMER_ID_RE.fullmatch(customer) and int(customer) <= MAX_CUSTOMER_ID):
        details.append({"field": "customer_id", "type": "invalid", "message": "a credit customer's id"})
    if details:
        raise ApiError(422, "validation_error", "invalid query parameters", details)
    query = HistoryQuery(
        tenant=auth.principal().tenant,
        model=args.get("model") or None,
        status=status,
        since_us=since_us,
        until_us=until_us,
        customer_id=int(customer) if customer is not None else None,
    )
    records, next_cursor = from_archive(lambda archive: history_page(_ext("jobs"), archive, query, limit, cursor))
    return jsonify({"jobs": [job_view(r) for r in records], "next_cursor": next_cursor})
