"""Erasure, for the right to be forgotten: an operator erases the inputs of a credit customer's jobs, or of one
job (a signup's), from the archive and from Redis.

What goes: the request (the inputs), whatever of the result quotes them (a
local explanation's reasons and values, a signup's room and unknown
interests), error messages, and the link between the customer and the job.
What stays, for anonymous decision statistics: the job's id, model, version,
task, status and times, and the anonymous outcome (decision, probability,
threshold, cluster, class). A job that has not ended yet keeps its input until
it ends; the archiver erases it on arrival, as the request is kept until no job
created before it can still arrive.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify

from jobqueue import contract
from jobqueue.archive_stream import erase
from jobqueue.erasure import anonymised, unarchived_naming
from web import auth
from web.api_keys import ADMIN
from web.errors import ApiError
from web.jobs import CUSTOMER_ID_RE, MAX_CUSTOMER_ID, find_job, from_archive

bp = Blueprint("erasure", __name__)
auth.restrict_blueprint(bp, ADMIN)
log = logging.getLogger(__name__)


def _answer(archive_rows: int, redis_records: int, pending: int, **subject: object) -> Response:
    return jsonify(
        {
            **subject,
            "archive_rows": archive_rows,
            "redis_records": redis_records,
            "pending": pending,
            "kept": ["id", "model", "model_version", "task", "status", "times", "outcome"],
        }
    )


@bp.delete("/customers/<customer_id>/jobs")
def erase_customer(customer_id: str) -> Response:
    """Erase the inputs of every job naming this credit customer; say how many rows and records it touched."""
    if not (CUSTOMER_ID_RE.fullmatch(customer_id) and int(customer_id) <= MAX_CUSTOMER_ID):
        raise ApiError(404, "unknown_customer", f"{customer_id!r} is not a customer id")
    subject = int(customer_id)
    client = current_app.extensions["redis"]
    requested_us = int(time.time() * 1_000_000)
    ended, running = unarchived_naming(client, subject)
    erased = from_archive(lambda archive: archive.erase_customer(subject, requested_us, job_ids=list(ended)))
    stripped = {job_id: anonymised(record) for job_id, record in ended.items()}
    redis_records = erase(client, {**stripped, **erased})
    log.info("customer_erased", extra={"archive_rows": len(erased), "redis_records": redis_records})
    return _answer(len(erased), redis_records, len(running), customer_id=subject)


@bp.delete("/jobs/<job_id>/inputs")
def erase_job(job_id: str) -> Response:
    """Erase one job's inputs (a signup's, found by the job id it was given)."""
    record = find_job(job_id)
    if record is None:
        raise ApiError(404, "unknown_job", f"no job {job_id!r}: never issued, or past the archive's retention")
    requested_us = int(time.time() * 1_000_000)
    erased = from_archive(lambda archive: archive.erase_job(job_id, requested_us))
    ended = record.get("status") in contract.TERMINAL
    redis_records = erase(current_app.extensions["redis"], erased or ({job_id: anonymised(record)} if ended else {}))
    log.info("job_erased", extra={"job_id": job_id, "archive_rows": len(erased), "redis_records": redis_records})
    return _answer(len(erased), redis_records, 0 if ended else 1, job_id=job_id)
