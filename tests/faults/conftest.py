"""Fault tests: each starts its own Redis (append-only, as in production) and its own workers, breaks
something, and checks that no accepted job is lost (tests.faults.ledger).

Timings are the production mechanisms shrunk to seconds: time limits, the
visibility timeout, kombu's restore sweep, the reaper's interval and grace.
Every test prints how many jobs it pushed through and how many were lost; the
totals close the run (``pytest -m faults``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from jobqueue.settings import Settings
from tests.faults.ledger import Ledger, Outcome
from tests.support.data import registry_settings
from tests.support.processes import WorkerProcess
from tools.redis_server import RedisServer
from web.app import create_app

# Chunks of 50 customers take ~0.1 s each, so a global explanation of 2,000
# runs for a few seconds: long enough to be interrupted mid-way.
# Callback retries must stay below the visibility timeout, however short a test makes it.
FAULT_TIMINGS = {
    "job_ttl_s": 600,
    "fast_time_limit_s": 10,
    "heavy_time_limit_s": 30,
    "visibility_timeout_s": 40,
    "unacked_restore_interval_s": 1,
    "reaper_interval_s": 1,
    "reaper_grace_s": 2,
    "explain_chunk_rows": 50,
    "callback_backoff_max_s": 1,
}

_REPORT: list[tuple[str, Outcome]] = []


def local_explanations(client: FlaskClient, count: int) -> dict[str, Any]:
    """A batch of ``count`` local explanations (heavy queue): a second or more of native code per 1,000."""
    ids: list[int] = []
    query = "/customers?limit=100"
    while len(ids) < count:
        page = client.get(query).json
        ids += [customer["customer_id"] for customer in page["customers"]]
        if page["next_cursor"] is None:
            break
        query = f"/customers?limit=100&cursor={page['next_cursor']}"
    # Fewer customers than asked: explain some more than once.
    return {"model": "credit", "task": "explain", "inputs": [{"customer_id": ids[i % len(ids)]} for i in range(count)]}


@pytest.fixture
def redis_aof(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, persisting to an append-only file as production does."""
    with RedisServer(data_dir=tmp_path / "redis", appendonly=True) as server:
        yield server


@pytest.fixture
def fault_settings(redis_aof: RedisServer, model_dir: Path) -> Settings:
    return registry_settings(Settings(redis_url=redis_aof.url, **FAULT_TIMINGS), model_dir)


@pytest.fixture
def web(fault_settings: Settings) -> FlaskClient:
    return create_app(fault_settings).test_client()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Starts real Celery workers (prefork) and stops whichever are left at the end of the test."""
    started: list[WorkerProcess] = []

    def start(
        settings: Settings,
        queues: str = "fast,heavy",
        concurrency: int = 1,
        wait: bool = True,
        prefetch: int = 1,
        extra_args: tuple[str, ...] = (),
    ) -> WorkerProcess:
        worker = WorkerProcess(
            settings,
            queues=queues,
            concurrency=concurrency,
            prefetch=prefetch,
            log_path=tmp_path / f"worker-{len(started)}.log",
            extra_args=extra_args,
        )
        started.append(worker)
        return worker.wait_ready() if wait else worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.terminate()  # every warm shutdown at once
    for worker in started:
        worker.stop()


@pytest.fixture
def ledger(request: pytest.FixtureRequest, fault_settings: Settings) -> Iterator[Ledger]:
    """The test's accepted jobs; its last ``settle`` outcome goes into the run's closing report."""
    book = Ledger(fault_settings.redis_url)
    yield book
    book.close()
    if book.outcome is not None:
        _REPORT.append((request.node.name, book.outcome))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _REPORT:
        return
    terminalreporter.section("faults: jobs accepted (202) and lost")
    for name, outcome in _REPORT:
        terminalreporter.write_line(f"{name}: {outcome.accepted} accepted, {len(outcome.lost)} lost")
    accepted = sum(outcome.accepted for _, outcome in _REPORT)
    lost = sum(len(outcome.lost) for _, outcome in _REPORT)
    terminalreporter.write_line(f"total: {accepted} accepted, {lost} lost")
