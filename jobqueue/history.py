"""A tenant's job history over any period: Redis for the jobs of the last JOB_TTL_S, the archive for all
that ended, merged newest first under one cursor.

Both sides order jobs by the same key, ``<created µs>:<id>`` (the Redis index
member), which is also the cursor. A page takes up to ``limit`` jobs from each
side below the cursor and keeps the newest ``limit`` of the union; a job in both
(ended, archived, not yet expired) is shown once, from Redis, whose record may
be fresher (a callback delivered since). When the Redis scan stopped on its
budget before the end, archived jobs below where it stopped wait for the next
page, so no job is skipped.
"""

from __future__ import annotations

from typing import Any

from jobqueue.archive import Archive, HistoryQuery
from jobqueue.archive_rows import created_micros, member
from jobqueue.store import JobStore


def history_page(
    jobs: JobStore, archive: Archive, query: HistoryQuery, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """(records, next cursor or None): the query's jobs below ``cursor``, newest first."""
    live, stopped = jobs.recent(
        model=query.model,
        status=query.status,
        limit=limit,
        cursor=cursor,
        tenant=query.tenant,
        since_us=query.since_us,
        until_us=query.until_us,
        customer_id=query.customer_id,
    )
    merged = {member(created_micros(record), record["id"]): record for record in live}
    for key, record in archive.page(query, limit, cursor):
        if stopped is not None and key <= stopped:
            continue  # Redis was not read that far: the next page brings both sides from there
        merged.setdefault(key, record)
    newest = sorted(merged, reverse=True)[:limit]
    if len(newest) == limit:
        return [merged[key] for key in newest], newest[-1]
    return [merged[key] for key in newest], stopped
