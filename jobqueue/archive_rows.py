"""A job record as an archive row and back, the customers it names, and what of it survives an erasure."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

# What of a result is a decision rather than a person's data: kept when a job's inputs are erased,
# and what drift reads predictions from. A local explanation keeps its probability; the reasons,
# which quote the applicant's values, and a signup's room and unknown interests, which quote its
# city and words, go.
ANONYMOUS_RESULT_FIELDS = ("probability", "threshold", "decision", "cluster", "species", "class")
ERASED_MESSAGE = "erased at the data subject's request"
# The record's callback fields, kept together in one column.
CALLBACK_FIELDS = (
    "callback_url",
    "callback_attempts",
    "callback_last_status",
    "callback_last_error",
    "callback_last_attempt_at",
    "callback_delivered_at",
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _micros(iso: str) -> int:
    """Microseconds since the epoch of a contract time (``2026-01-02T03:04:05.678Z``)."""
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1_000_000)


def created_micros(record: dict[str, Any]) -> int:
    """When the job was created, in microseconds: the head of its index member, as the listings order it."""
    member = str(record.get("index_member", ""))
    head = member.split(":", 1)[0]
    return int(head) if head.isdigit() else _micros(record["created_at"])


def member(created_us: int, job_id: str) -> str:
    """The listing cursor of a job: its creation in microseconds, then its id (as Redis indexes it)."""
    return f"{created_us:017d}:{job_id}"


def customer_ids(request: Any) -> set[int]:
    """The credit customers a request names (``customer_id`` in any of its records)."""
    if not isinstance(request, dict):
        return set()
    found = set()
    for record in request.get("records") or ():
        value = record.get("customer_id") if isinstance(record, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    return found


def anonymous(result: Any) -> Any:
    """The decision part of a result (per record for a batch), or None if it has none."""
    if isinstance(result, list):
        items = [anonymous(item) for item in result]
        return items if any(item is not None for item in items) else None
    if not isinstance(result, dict):
        return None
    kept = {name: result[name] for name in ANONYMOUS_RESULT_FIELDS if name in result}
    return kept or None


def anonymous_error(error: Any) -> Any:
    """An error keeps its type; its message may quote the input."""
    if isinstance(error, dict) and "type" in error:
        return {"type": error["type"], "message": ERASED_MESSAGE}
    return None


def row_for(record: dict[str, Any], archived_at: str) -> dict[str, Any]:
    """The archive row of a decoded record (``jobqueue.records.decode_record``) of a job that ended."""
    callback = {name: record[name] for name in CALLBACK_FIELDS if name in record}
    finished = record.get("finished_at")
    result = record.get("result")
    return {
        "id": record["id"],
        "tenant": record.get("tenant", ""),
        "model": record["model"],
        "model_version": record["model_version"],
        "task": record["task"],
        "queue": record.get("queue", ""),
        "status": record["status"],
        "attempts": int(record.get("attempts", 0)),
        "progress_done": int(record.get("progress_done", 0)),
        "progress_total": int(record.get("progress_total", 0)),
        "created_at": record["created_at"],
        "started_at": record.get("started_at"),
        "finished_at": finished,
        "expires_at": record["expires_at"],
        "created_us": created_micros(record),
        "finished_us": _micros(finished) if finished else None,
        "request": _json(record["request"]) if "request" in record else None,
        "result": _json(result),
        "error": _json(record.get("error")),
        "outcome": _json(anonymous(result)),
        "callback": _json(callback) if callback else None,
        "archived_at": archived_at,
        "erased_at": None,
    }


def record_for(row: Any) -> dict[str, Any]:
    """A record as the job store decodes one, from an archive row (a mapping of its columns)."""
    record: dict[str, Any] = {
        name: row[name]
        for name in (
            "id",
            "tenant",
            "model",
            "model_version",
            "task",
            "queue",
            "status",
            "attempts",
            "progress_done",
            "progress_total",
            "created_at",
            "expires_at",
        )
    }
    for name in ("started_at", "finished_at"):
        if row[name] is not None:
            record[name] = row[name]
    for name in ("result", "error"):
        record[name] = json.loads(row[name]) if row[name] is not None else None
    if row["callback"]:
        record.update(json.loads(row["callback"]))
    record["index_member"] = member(row["created_us"], row["id"])
    return record
