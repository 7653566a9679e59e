"""The job as clients see it: one view for GET /jobs/<id>, listings and callback bodies."""

from __future__ import annotations

from typing import Any


def callback_view(record: dict[str, Any]) -> dict[str, Any] | None:
    """Where the finished job is posted and how delivery went; None without a callback_url."""
    if not record.get("callback_url"):
        return None
    return {
        "url": record["callback_url"],
        "attempts": record.get("callback_attempts", 0),
        "last_status": record.get("callback_last_status"),
        "last_error": record.get("callback_last_error"),
        "last_attempt_at": record.get("callback_last_attempt_at"),
        "delivered_at": record.get("callback_delivered_at"),
    }


def job_view(record: dict[str, Any]) -> dict[str, Any]:
    """The contract's job object from a stored record."""
    return {
        "id": record["id"],
        "model": record["model"],
        "model_version": record["model_version"],
        "task": record["task"],
        "status": record["status"],
        "progress": {"done": record.get("progress_done", 0), "total": record.get("progress_total", 0)},
        "created_at": record["created_at"],
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at"),
        "expires_at": record["expires_at"],
        "attempts": record.get("attempts", 0),
        "result": record.get("result"),
        "error": record.get("error"),
        "callback": callback_view(record),
        "links": {"self": f"/jobs/{record['id']}"},
    }
