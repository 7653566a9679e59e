"""The jobs resource: POST /jobs, GET /jobs, GET and DELETE /jobs/<id>."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError

from jobqueue import contract
from jobqueue.celery_client import send_callback
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


def _existing(job_id: str) -> dict[str, Any]:
    store: JobStore = _ext("jobs")
    record = store.get(job_id) if JOB_ID_RE.fullmatch(job_id) else None
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


@bp.get("/jobs")
def list_jobs() -> Response:
    """Recent jobs, newest first: the prediction history."""
    args = request.args
    limit, cursor, details = page_args(CURSOR_RE)
    status = args.get("status") or None
    if status is not None and status not in contract.STATUSES:
        details.insert(0, {"field": "status", "type": "enum", "message": "one of " + ", ".join(contract.STATUSES)})
    if details:
        raise ApiError(422, "validation_error", "invalid query parameters", details)
    records, next_cursor = _ext("jobs").recent(
        model=args.get("model") or None, status=status, limit=limit, cursor=cursor, tenant=auth.principal().tenant
    )
    return jsonify({"jobs": [job_view(r) for r in records], "next_cursor": next_cursor})
