"""The job archive's tables: every job that ended, the customers each one names, and erasure requests."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per job that ended, as GET /jobs/<id> shows it. Times are kept as the contract writes them
# (ISO 8601 text, so an archived job reads back byte for byte), with microseconds since the epoch beside
# them for ordering and windows. request, result and error are JSON text; an erased job has no request
# and keeps only ``outcome``, the anonymous part of its result (a decision, a probability, a cluster).
archived_jobs = sa.Table(
    "archived_jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("task", sa.String(32), nullable=False),
    sa.Column("queue", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("progress_done", sa.BigInteger, nullable=False),
    sa.Column("progress_total", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("started_at", sa.String(32)),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False),
    sa.Column("finished_us", sa.BigInteger),
    sa.Column("request", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("outcome", sa.Text),
    sa.Column("callback", sa.Text),
    sa.Column("archived_at", sa.String(32), nullable=False),
    sa.Column("erased_at", sa.String(32)),
    # A tenant's history, newest first (GET /jobs), all of it or one model's.
    sa.Index("ix_archived_jobs_tenant_created", "tenant", "created_us", "id"),
    sa.Index("ix_archived_jobs_tenant_model_created", "tenant", "model", "created_us"),
    # Drift windows: one model's jobs by when they ended.
    sa.Index("ix_archived_jobs_model_finished", "model", "finished_us"),
    # Retention: the oldest jobs first, whatever their tenant.
    sa.Index("ix_archived_jobs_created", "created_us"),
)

# The credit customers each job scored or explained, found at archive time: a batch names many. What
# GET /jobs?customer_id= and the erasure of a customer look up.
archived_job_customers = sa.Table(
    "archived_job_customers",
    metadata,
    sa.Column("job_id", sa.String(32), sa.ForeignKey("archived_jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("customer_id", sa.BigInteger, primary_key=True),
    sa.Index("ix_archived_job_customers_customer", "customer_id"),
)

# Erasures asked for: a customer's jobs, or one job, created up to ``requested_us``. Kept while a job
# created before the request may still reach the archive (JOB_TTL_S + ARCHIVE_HOLD_S), so the archiver
# erases it on arrival.
archive_erasures = sa.Table(
    "archive_erasures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.BigInteger),
    sa.Column("job_id", sa.String(32)),
    sa.Column("requested_us", sa.BigInteger, nullable=False),
    sa.Index("ix_archive_erasures_customer", "customer_id"),
    sa.Index("ix_archive_erasures_job", "job_id"),
)

# One row, locked first by every archiving and erasing transaction: on PostgreSQL an erasure can then
# never miss the rows of a batch being committed beside it (SQLite has one writer at a time anyway).
archive_state = sa.Table(
    "archive_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("erasures", sa.BigInteger, nullable=False),
)
