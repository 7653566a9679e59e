"""The job archive in the shared database: store ended jobs idempotently, read and list them, erase, prune.

Every write is one transaction that first locks the ``archive_state`` row, so
an erasure and a batch being archived never interleave: a job created before
an erasure request is erased whether it was archived before the request, or
arrives after it (the request is kept as long as such a job can still come:
JOB_TTL_S + ARCHIVE_HOLD_S).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from jobqueue.archive_rows import anonymous_error, customer_ids, member, record_for, row_for
from jobqueue.archive_tables import archive_erasures, archive_state, archived_job_customers, archived_jobs
from jobqueue.database import create_engine
from jobqueue.records import isoformat, utcnow
from jobqueue.settings import Settings

PRUNE_CHUNK = 1000
_COLUMNS = [column.name for column in archived_jobs.columns]


@dataclass(frozen=True)
class HistoryQuery:
    """A filter over one tenant's jobs by creation time, in microseconds since the epoch: from ``since_us``
    (included) to ``until_us`` (excluded)."""

    tenant: str = ""
    model: str | None = None
    status: str | None = None
    since_us: int | None = None
    until_us: int | None = None
    customer_id: int | None = None


@dataclass(frozen=True)
class Stored:
    """What one archiving transaction did."""

    rows: int  # jobs written (new or updated)
    erased: dict[str, tuple[str, str]]  # job id -> (result, error) JSON of jobs an erasure request caught


@dataclass(frozen=True)
class WindowRow:
    """What drift reads of one archived predict job."""

    model_version: str
    request: Any  # None once erased
    outcome: Any


class Archive:
    """The archive's tables, through one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        upsert = insert(archived_jobs)
        # A job archived again (a later callback attempt changed it) is updated, unless it was erased.
        self._upsert = upsert.on_conflict_do_update(
            index_elements=[archived_jobs.c.id],
            set_={name: upsert.excluded[name] for name in _COLUMNS if name != "id"},
            where=archived_jobs.c.erased_at.is_(None),
        )
        self._link = insert(archived_job_customers).on_conflict_do_nothing()

    @classmethod
    def for_settings(cls, settings: Settings) -> "Archive":
        return cls(create_engine(settings))

    @staticmethod
    def _lock(db: Connection) -> None:
        # Row lock on PostgreSQL; SQLite serialises writers by itself (the statement is a plain read there).
        db.execute(sa.select(archive_state.c.id).where(archive_state.c.id == 1).with_for_update()).all()

    # -- archiving --------------------------------------------------------
    def store(self, records: Sequence[dict[str, Any]]) -> Stored:
        """Write the records of jobs that ended (decoded from Redis) in one transaction; idempotent."""
        if not records:
            return Stored(0, {})
        archived_at = isoformat(utcnow())
        rows = [row_for(record, archived_at) for record in records]
        links = [
            {"job_id": record["id"], "customer_id": customer}
            for record in records
            for customer in sorted(customer_ids(record.get("request")))
        ]
        with self.engine.begin() as db:
            self._lock(db)
            db.execute(self._upsert, rows)
            # A job erased earlier and archived again (a late entry) gets no customer link back.
            already = set(
                db.execute(
                    sa.select(archived_jobs.c.id).where(
                        archived_jobs.c.id.in_([row["id"] for row in rows]), archived_jobs.c.erased_at.is_not(None)
                    )
                ).scalars()
            )
            links = [link for link in links if link["job_id"] not in already]
            if links:
                db.execute(self._link, links)
            erased = self._apply_erasures(db, {row["id"]: row["created_us"] for row in rows}, links)
        return Stored(len(rows), erased)

    def _apply_erasures(
        self, db: Connection, created: dict[str, int], links: list[dict[str, Any]]
    ) -> dict[str, tuple[str, str]]:
        """Erase, among these jobs, those an erasure request covers; their anonymous result and error."""
        customers = {link["customer_id"] for link in links}
        condition: sa.ColumnElement[bool] = archive_erasures.c.job_id.in_(created)
        if customers:
            condition = sa.or_(condition, archive_erasures.c.customer_id.in_(customers))
        requests = db.execute(
            sa.select(archive_erasures.c.job_id, archive_erasures.c.customer_id, archive_erasures.c.requested_us).where(
                condition
            )
        ).all()
        whole = {job_id for job_id, _, _ in requests if job_id}
        # A customer's request covers that customer's jobs created before it, and only their link to that customer.
        pairs = {
            (link["job_id"], customer)
            for _, customer, requested_us in requests
            if customer is not None
            for link in links
            if link["customer_id"] == customer and created[link["job_id"]] <= requested_us
        }
        erased = self._erase(db, whole | {job_id for job_id, _ in pairs})
        if whole:
            db.execute(sa.delete(archived_job_customers).where(archived_job_customers.c.job_id.in_(whole)))
        for job_id, customer in sorted(pairs):
            db.execute(
                sa.delete(archived_job_customers).where(
                    archived_job_customers.c.job_id == job_id, archived_job_customers.c.customer_id == customer
                )
            )
        return erased

    def _erase(self, db: Connection, job_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Null the inputs of these jobs (those not erased yet), in ``db``'s transaction; links are the caller's."""
        wanted = sorted(set(job_ids))
        erased: dict[str, tuple[str, str]] = {}
        now = isoformat(utcnow())
        for start in range(0, len(wanted), PRUNE_CHUNK):
            part = wanted[start : start + PRUNE_CHUNK]
            rows = db.execute(
                sa.select(archived_jobs.c.id, archived_jobs.c.outcome, archived_jobs.c.error).where(
                    archived_jobs.c.id.in_(part), archived_jobs.c.erased_at.is_(None)
                )
            ).all()
            for job_id, outcome, error in rows:
                result_json = outcome if outcome is not None else "null"
                error_json = json.dumps(anonymous_error(json.loads(error) if error else None), separators=(",", ":"))
                db.execute(
                    sa.update(archived_jobs)
                    .where(archived_jobs.c.id == job_id)
                    .values(request=None, result=result_json, error=error_json, erased_at=now)
                )
                erased[job_id] = (result_json, error_json)
        return erased

    # -- erasure ------------------------------------------------------------
    def erase_customer(
        self, customer_id: int, requested_us: int, job_ids: Sequence[str] = ()
    ) -> dict[str, tuple[str, str]]:
        """Erase every archived job naming this customer, and any created before now that arrives later;
        ``job_ids``: jobs naming the customer that Redis erases before they are archived (they arrive
        without the input that names the customer)."""
        with self.engine.begin() as db:
            self._lock(db)
            db.execute(sa.insert(archive_erasures).values(customer_id=customer_id, requested_us=requested_us))
            if job_ids:
                db.execute(
                    sa.insert(archive_erasures),
                    [{"job_id": job_id, "requested_us": requested_us} for job_id in job_ids],
                )
            db.execute(
                sa.update(archive_state).where(archive_state.c.id == 1).values(erasures=archive_state.c.erasures + 1)
            )
            mine = archived_job_customers.c.customer_id == customer_id
            archived = list(db.execute(sa.select(archived_job_customers.c.job_id).where(mine)).scalars())
            db.execute(sa.delete(archived_job_customers).where(mine))
            return self._erase(db, archived)

    def erase_job(self, job_id: str, requested_us: int) -> dict[str, tuple[str, str]]:
        """Erase one job's inputs, now if it is archived, else when it arrives."""
        with self.engine.begin() as db:
            self._lock(db)
            db.execute(sa.insert(archive_erasures).values(job_id=job_id, requested_us=requested_us))
            db.execute(
                sa.update(archive_state).where(archive_state.c.id == 1).values(erasures=archive_state.c.erasures + 1)
            )
            db.execute(sa.delete(archived_job_customers).where(archived_job_customers.c.job_id == job_id))
            return self._erase(db, [job_id])

    # -- reading ------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, Any] | None:
        """The archived job as the job store would decode its record (``tenant`` included), or None."""
        with self.engine.connect() as db:
            row = db.execute(sa.select(archived_jobs).where(archived_jobs.c.id == job_id)).mappings().first()
        return record_for(row) if row is not None else None

    def page(self, query: HistoryQuery, limit: int, cursor: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Up to ``limit`` (cursor, record) of the query's jobs below ``cursor``, newest first."""
        table = archived_jobs.c
        conditions: list[Any] = [table.tenant == query.tenant]
        if query.model:
            conditions.append(table.model == query.model)
        if query.status:
            conditions.append(table.status == query.status)
        if query.since_us is not None:
            conditions.append(table.created_us >= query.since_us)
        if query.until_us is not None:
            conditions.append(table.created_us < query.until_us)
        if query.customer_id is not None:
            conditions.append(
                table.id.in_(
                    sa.select(archived_job_customers.c.job_id).where(
                        archived_job_customers.c.customer_id == query.customer_id
                    )
                )
            )
        if cursor:
            created, _, job_id = cursor.partition(":")
            conditions.append(
                sa.or_(table.created_us < int(created), sa.and_(table.created_us == int(created), table.id < job_id))
            )
        statement = (
            sa.select(archived_jobs).where(*conditions).order_by(table.created_us.desc(), table.id.desc()).limit(limit)
        )
        with self.engine.connect() as db:
            rows = db.execute(statement).mappings().all()
        return [(member(row["created_us"], row["id"]), record_for(row)) for row in rows]

    def window(self, model: str, since_us: int, max_jobs: int) -> list[WindowRow]:
        """The newest ``max_jobs`` predict jobs of ``model`` that succeeded since ``since_us``, newest first."""
        table = archived_jobs.c
        statement = (
            sa.select(table.model_version, table.request, table.outcome)
            .where(table.model == model, table.finished_us >= since_us, table.task == "predict")
            .where(table.status == "succeeded")
            .order_by(table.finished_us.desc())
            .limit(max_jobs)
        )
        with self.engine.connect() as db:
            rows = db.execute(statement).all()
        return [
            WindowRow(version, json.loads(request) if request else None, json.loads(outcome) if outcome else None)
            for version, request, outcome in rows
        ]

    # -- retention ----------------------------------------------------------
    def prune(self, created_before_us: int, erasures_before_us: int) -> int:
        """Delete jobs created before ``created_before_us`` (in chunks), and erasure requests no job can
        still need; how many jobs went."""
        removed = 0
        while True:
            with self.engine.begin() as db:
                job_ids = list(
                    db.execute(
                        sa.select(archived_jobs.c.id)
                        .where(archived_jobs.c.created_us < created_before_us)
                        .limit(PRUNE_CHUNK)
                    ).scalars()
                )
                if job_ids:
                    db.execute(sa.delete(archived_job_customers).where(archived_job_customers.c.job_id.in_(job_ids)))
                    db.execute(sa.delete(archived_jobs).where(archived_jobs.c.id.in_(job_ids)))
            removed += len(job_ids)
            if len(job_ids) < PRUNE_CHUNK:
                break
        with self.engine.begin() as db:
            db.execute(sa.delete(archive_erasures).where(archive_erasures.c.requested_us < erasures_before_us))
        return removed
