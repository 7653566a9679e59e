"""The job archive: every job that ended, the customers each names, erasure requests and their lock row."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archived_jobs",
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
    )
    op.create_index("ix_archived_jobs_tenant_created", "archived_jobs", ["tenant", "created_us", "id"])
    op.create_index("ix_archived_jobs_tenant_model_created", "archived_jobs", ["tenant", "model", "created_us"])
    op.create_index("ix_archived_jobs_model_finished", "archived_jobs", ["model", "finished_us"])
    op.create_index("ix_archived_jobs_created", "archived_jobs", ["created_us"])
    op.create_table(
        "archived_job_customers",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("archived_jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("customer_id", sa.BigInteger, primary_key=True),
    )
    op.create_index("ix_archived_job_customers_customer", "archived_job_customers", ["customer_id"])
    op.create_table(
        "archive_erasures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.BigInteger),
        sa.Column("job_id", sa.String(32)),
        sa.Column("requested_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_archive_erasures_customer", "archive_erasures", ["customer_id"])
    op.create_index("ix_archive_erasures_job", "archive_erasures", ["job_id"])
    op.create_table(
        "archive_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("erasures", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table("archive_state", sa.column("id", sa.Integer), sa.column("erasures", sa.BigInteger)),
        [{"id": 1, "erasures": 0}],
    )


def downgrade() -> None:
    for table in ("archive_state", "archive_erasures", "archived_job_customers", "archived_jobs"):
        op.drop_table(table)
