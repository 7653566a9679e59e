"""Fault 6: the archive loses nothing. The archiver is killed mid-stream, Redis restarts (append-only file on)
while no archiver runs, and PostgreSQL is stopped while jobs keep ending.

The registry and the archive share one PostgreSQL, as on Heroku and in
compose. Every job the web accepted must end (the ledger) and, once the
database is back, be in the archive, archived from the record it ended with.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobqueue import contract
from jobqueue.archive_stream import backlog
from jobqueue.archive_tables import archived_jobs
from jobqueue.connections import create_redis
from jobqueue.database import create_engine, migrate
from jobqueue.settings import PROJECT_ROOT, Settings
from models.interests.train import train
from models.store import ModelStore
from tests.faults.conftest import FAULT_TIMINGS
from tests.support.data import SIGNUP
from tests.support.processes import eventually, settings_env
from tools.postgres_server import PostgresServer
from tools.redis_server import RedisServer
from web.app import create_app

pytestmark = pytest.mark.faults

PER_PHASE = 20
# Five seconds in the suite, to keep it short; the logic does not depend on the length, and
# FAULT_DATABASE_DOWN_S=60 runs the minute-long outage (docs/reliability.md gives that run's figures).
DATABASE_DOWN_S = float(os.environ.get("FAULT_DATABASE_DOWN_S", "5"))


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL whose data outlives a stop: stopped and started again on the same port."""
    # Under root the server runs as another user, who cannot enter pytest's private tmp_path.
    data = Path(tempfile.mkdtemp(prefix="archive-postgres-"))
    server = PostgresServer(data_dir=data)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


class Archiver:
    """``python -m worker archiver`` as the Procfile runs it."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self._log = open(log, "ab")  # noqa: SIM115 - held for the process's life
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "archiver"],
            cwd=PROJECT_ROOT,
            env=settings_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._log.close()

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(30)
        self._log.close()
        return code


def test_no_ended_job_is_missing_from_the_archive_after_the_archiver_redis_and_the_database_fail(
    redis_aof: RedisServer, postgres: PostgresServer, ledger, start_worker, tmp_path: Path
) -> None:
    settings = Settings(
        redis_url=redis_aof.url,
        database_url=postgres.url,
        model_dir=tmp_path / "cache",
        archive_batch_size=5,  # many small commits, so the kill lands between two
        **FAULT_TIMINGS,
    )
    migrate(settings)
    train(ModelStore.for_settings(settings), n_users=800, seed=0)
    web = create_app(settings).test_client()
    start_worker(settings, queues="fast", concurrency=2)
    engine = create_engine(settings)

    def archived() -> set[str]:
        with engine.connect() as db:
            return set(db.execute(sa.select(archived_jobs.c.id)).scalars())

    # 1. The archiver is killed (SIGKILL) in the middle of the stream.
    archiver = Archiver(settings, tmp_path / "archiver-1.log")
    first = [ledger.submit(web, SIGNUP).json["id"] for _ in range(2 * PER_PHASE)]
    eventually(lambda: len(archived()) >= 5, 30, 0.01, message="the first batches archived")
    archiver.kill()
    assert len(archived()) < len(first), "the archiver finished before it could be killed"
    client = create_redis(settings)
    eventually(
        lambda: all(client.hget(contract.job_key(job_id), "status") == b"succeeded" for job_id in first),
        30,
        message="the first jobs ended",
    )

    # 2. Redis restarts while no archiver runs: the stream, its group and the pending entries come back.
    # (Once the worker is idle: a fast worker holding messages when Redis goes away is a fault of its own.)
    pending = client.xpending(contract.ARCHIVE_STREAM, contract.ARCHIVE_GROUP)["pending"]
    redis_aof.restart()
    assert client.xpending(contract.ARCHIVE_STREAM, contract.ARCHIVE_GROUP)["pending"] == pending
    eventually(lambda: ledger.submit(web, SIGNUP).status_code == 202, 10, 0.2, message="web accepts again")
    for _ in range(PER_PHASE):
        ledger.submit(web, SIGNUP)

    # 3. The database stops; the archiver, started again, cannot commit while jobs keep ending.
    postgres.stop()
    archiver = Archiver(settings, tmp_path / "archiver-2.log")
    for _ in range(PER_PHASE):  # spread over the outage, so jobs end all through it
        ledger.submit(web, SIGNUP)
        time.sleep(DATABASE_DOWN_S / PER_PHASE)
    assert archiver.proc.poll() is None, "the archiver died with the database"
    postgres.start()

    outcome = ledger.settle(web, timeout_s=60, unobserved_ok=True)
    assert outcome.lost == {}
    accepted = set(ledger.accepted)
    missing = eventually(lambda: accepted <= archived() or None, 60, 0.2, message="every ended job archived")
    assert missing
    assert backlog(client).entries == 0
    with engine.connect() as db:
        rows = db.execute(sa.select(archived_jobs.c.id, archived_jobs.c.status, archived_jobs.c.result)).all()
    assert {row.id: row.status for row in rows if row.id in accepted} == dict.fromkeys(accepted, "succeeded")
    assert all(f'"room":"{outcome.records[row.id]["result"]["room"]}"' in row.result for row in rows)
    assert archiver.stop() == 0  # SIGTERM: it finishes the batch in hand and exits cleanly
    engine.dispose()
