"""Many hosts, one service: a database host, a web host, fast and heavy worker hosts, each a network namespace.

Each host runs from its own copy of the tree, with its own model cache and
temp folder; they share only Redis and PostgreSQL, over a private bridge.
One scenario, in order, as an operator would live it:

1. signups flow through the web to both fast hosts;
2. iris is trained on the heavy host and activated through the web: both fast
   hosts serve the new version, fetched from the registry; a rollback likewise;
3. under load, one fast host dies outright (SIGKILL, its link down) and a new
   fast host starts: it catches up with the registry and takes the work;
4. the other fast host is cut off from Redis for longer than the visibility
   timeout, then healed: its jobs are redone elsewhere;
and every job accepted along the way ends exactly once (tests/faults/ledger.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from jobqueue import contract
from jobqueue.database import migrate
from jobqueue.settings import Settings
from models.interests.train import train as train_interests
from models.iris.train import train as train_iris
from models.store import ModelStore
from tests.faults.ledger import Ledger
from tests.support.data import SIGNUP
from tests.support.missing import unavailable
from tests.support.netns import Host, Network
from tests.support.processes import eventually
from tools.postgres_server import PostgresServer
from tools.redis_server import find_redis_server
from worker.broker_scan import BrokerMessages

# Two minutes or so of real processes on two cores; the per-test default would cut it off.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(480)]

IRIS = {"model": "iris", "input": {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.6, "petal_width": 1.5}}
# The production mechanisms shrunk to seconds: a lost worker's messages come back after the visibility
# timeout (kombu's restore) or, if delivered and never started, a time limit plus grace later (the reaper).
TIMINGS: dict[str, Any] = {
    "fast_time_limit_s": 5,
    "heavy_time_limit_s": 15,
    "visibility_timeout_s": 16,
    "unacked_restore_interval_s": 1,
    "reaper_interval_s": 1,
    "reaper_grace_s": 2,
    "soft_time_limit_margin_s": 1,
    "registry_poll_s": 0.5,
    "fast_prefetch_multiplier": 8,
    "callback_backoff_max_s": 5,
    "log_level": "WARNING",
}
REDIS_PORT, POSTGRES_PORT, WEB_PORT = 6390, 5433, 8000


def _can_make_hosts() -> str | None:
    """Why network namespaces cannot be made here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2 (apt-get install iproute2)"
    return None


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    reason = _can_make_hosts()
    if reason:
        unavailable(f"the multi-host test {reason}")
    net = Network(tmp_path / "hosts")
    try:
        yield net
    finally:
        net.close()


class Http:
    """The web host over real HTTP, shaped as the ledger expects (``.status_code``, ``.json``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def post(self, path: str, json: Any = None) -> Any:
        return _answer(self.session.post(self.base_url + path, json=json, timeout=30))

    def get(self, path: str) -> Any:
        return _answer(self.session.get(self.base_url + path, timeout=30))

    def put(self, path: str, json: Any = None) -> Any:
        return _answer(self.session.put(self.base_url + path, json=json, timeout=30))


class _Answer:
    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self.json = status_code, body


def _answer(response: requests.Response) -> _Answer:
    try:
        body = response.json()
    except ValueError:
        body = None
    return _Answer(response.status_code, body)


class Load:
    """Signups submitted from a thread until stopped: the service stays busy while hosts come and go."""

    def __init__(self, http: Http, ledger: Ledger) -> None:
        self.http, self.ledger = http, ledger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(requests.RequestException):  # never accepted: not in the ledger
                self.ledger.submit(self.http, SIGNUP)
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _start_redis(host: Host, password: str) -> str:
    data = host.root / "redis"
    data.mkdir()
    host.start(
        [
            find_redis_server(),
            "--port",
            str(REDIS_PORT),
            "--bind",
            host.address,
            "--requirepass",
            password,
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ],
        dict(os.environ),
        "redis",
    )
    url = f"redis://:{password}@{host.address}:{REDIS_PORT}/0"
    eventually(lambda: _pings(url), 20, 0.1, message="redis on the database host")
    return url


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _start_worker(host: Host, env: dict[str, str], role: str, queues: str | None = None) -> str:
    hostname = f"{host.name}@hosts"
    argv = [sys.executable, "-m", "worker", role, "-n", hostname, *(["-Q", queues] if queues else [])]
    host.start(argv, host.env(env), role)
    return hostname


def _consuming(client: redis.Redis, hostname: str, queue: str) -> bool:
    return client.zscore(contract.workers_key(queue), hostname) is not None


def _served_by(client: redis.Redis, job_id: str) -> str:
    return (client.hget(contract.job_key(job_id), "worker") or b"").decode()


def _finished(http: Http, job: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        current = http.get(f"/jobs/{job['id']}").json
        return current if current["status"] in contract.TERMINAL else None

    result: dict[str, Any] = eventually(done, timeout_s, 0.1, message=f"job {job['id']} finished")  # type: ignore[assignment]
    return result


def _serve_until_both(http: Http, client: redis.Redis, hosts: tuple[str, ...], version: str) -> None:
    """Submit iris jobs until each of ``hosts`` has scored one with ``version`` (the web may lag a poll)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while seen != set(hosts):
        assert time.monotonic() < deadline, f"{set(hosts) - seen} never served iris {version}"
        job = http.post("/jobs?wait=10", json=IRIS).json
        assert job["status"] == "succeeded", job
        if job["model_version"] == version:
            seen.add(_served_by(client, job["id"]))


def test_hosts_share_the_registry_and_lose_no_job_when_one_dies_or_is_cut_off(network: Network) -> None:
    db, web, fast1, fast2, heavy = (network.add(name) for name in ("db", "web", "fast1", "fast2", "heavy"))
    redis_url = _start_redis(db, secrets.token_hex(16))
    postgres = PostgresServer(host=db.address, port=POSTGRES_PORT, run=("ip", "netns", "exec", db.namespace))
    postgres.start()
    try:
        # Open (no API_KEYS) on a non-loopback address: the namespaces are this test's alone.
        settings = Settings(redis_url=redis_url, database_url=postgres.url, allow_open=True, **TIMINGS)
        migrate(settings)
        # The registry's first versions, published from this test's host, as a release phase would.
        seeder = ModelStore.for_settings(settings.replace(model_dir=network.workdir / "seeder"))
        train_interests(seeder, n_users=800, seed=0)
        first_iris = train_iris(seeder, estimator="logreg", seed=0).version
        env = settings.as_env()
        web.start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:web.gunicorn_conf",
                "--bind",
                f"{web.address}:{WEB_PORT}",
                "web.wsgi:app",
            ],
            web.env(env),
            "web",
        )
        names = {host: _start_worker(host, env, "fast") for host in (fast1, fast2)}
        names[heavy] = _start_worker(heavy, env, "heavy", "heavy,callbacks")
        client = redis.Redis.from_url(redis_url)
        for host, queue in ((fast1, "fast"), (fast2, "fast"), (heavy, "heavy")):
            eventually(
                lambda h=names[host], q=queue: _consuming(client, h, q), 60, 0.2, message=f"{names[host]} consuming"
            )
        http = Http(f"http://{web.address}:{WEB_PORT}")
        eventually(lambda: http.get("/health").status_code == 200, 30, 0.2, message="the web host answering")
        ledger = Ledger(redis_url)

        # 1. Signups flow through the web to both fast hosts.
        jobs = [ledger.submit(http, SIGNUP).json for _ in range(40)]
        finished = [_finished(http, job) for job in jobs]
        assert {job["status"] for job in finished} == {"succeeded"}
        assert {_served_by(client, job["id"]) for job in finished} == {names[fast1], names[fast2]}

        # 2. Train on the heavy host, activate through the web; both fast hosts serve it, then the rollback.
        train = http.post(
            "/jobs",
            json={"model": "iris", "task": "train", "params": {"estimator": "logreg", "seed": 5, "activate": True}},
        ).json
        trained = _finished(http, train)
        assert trained["status"] == "succeeded", trained
        assert _served_by(client, train["id"]) == names[heavy]
        second_iris = trained["result"]["version"]
        _serve_until_both(http, client, (names[fast1], names[fast2]), second_iris)
        for host in (fast1, fast2, web):  # fetched from the registry into each host's own cache
            assert (host.root / "cache" / "iris" / second_iris / "model.joblib").is_file(), host.name
        assert http.put("/models/iris/active", json={"version": first_iris}).status_code == 200
        _serve_until_both(http, client, (names[fast1], names[fast2]), first_iris)

        # 3. Under load, fast1 dies outright; a new fast host joins and catches up with the registry.
        load = Load(http, ledger)
        eventually(lambda: len(ledger.accepted) > len(jobs) + 60, 30, 0.1, message="load under way")
        fast1.kill()
        fast1.link(False)
        killed_at = time.time()
        fast3 = network.add("fast3")
        names[fast3] = _start_worker(fast3, env, "fast")
        eventually(lambda: _consuming(client, names[fast3], "fast"), 60, 0.2, message="fast3 consuming")

        # 4. fast2 is cut off for longer than the visibility timeout, then healed.
        eventually(lambda: len(ledger.accepted) > len(jobs) + 200, 60, 0.1, message="more load")
        fast2.link(False)
        time.sleep(settings.visibility_timeout_s + 4)
        fast2.link(True)
        eventually(lambda: len(ledger.accepted) > len(jobs) + 400, 60, 0.1, message="load after the heal")
        load.stop()

        bound = settings.visibility_timeout_s + settings.fast_time_limit_s + 60
        outcome = ledger.settle(http, timeout_s=bound)  # type: ignore[arg-type]
        if outcome.lost:
            broker = BrokerMessages(client)
            held, waiting = broker.delivered(), broker.waiting(contract.JOB_QUEUES, set(outcome.lost))
            where = {
                job_id: ("delivered" if job_id in held else "waiting" if job_id in waiting else "no message")
                for job_id in outcome.lost
            }
            raise AssertionError(f"lost: {outcome.lost}; their messages: {where}")
        statuses = {record["status"] for record in outcome.records.values()}
        assert statuses == {"succeeded"}, statuses
        after_kill = [
            job_id
            for job_id, record in outcome.records.items()
            if record["finished_at"] and record["finished_at"] > _iso(killed_at + 1)
        ]
        assert after_kill and names[fast1] not in {_served_by(client, job_id) for job_id in after_kill}
        assert names[fast3] in {_served_by(client, job_id) for job_id in outcome.records}
        for name in ("interests", "iris"):  # the new host fetched what it served
            assert (fast3.root / "cache" / name).is_dir()
        # Every job counted once in the metrics the finish script keeps, whichever host ran it.
        counted = int(client.hget("scoring:metrics:jobs", "interests|predict|succeeded") or 0)
        assert counted == sum(1 for record in outcome.records.values() if record["model"] == "interests")
        ledger.close()
    finally:
        postgres.stop()


def _iso(epoch_s: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch_s, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
