"""What archiving costs the signup path: the service driven with the archiver off, then on, in one run.

    python -m bench.archive_cost [--jobs 3000] [--concurrency 32] [--rounds 2]

Each round starts the web (gunicorn, as the Procfile runs it) and the fast
worker on one private Redis and SQLite archive, without the archiver and
then with it, and drives the same signups through ``POST /jobs?wait`` (the
load driver of bench.run). Both runs pay the stream entry the finish script
adds; what differs is the archiver reading the stream, reading the records
and committing them while signups run. Reported per mode: latency (p50, p99),
throughput, CPU ms per job of web, worker and Redis (the signup path) and of
the archiver, which is measured until it has caught up. Figures go to stdout
and bench/results/archive-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

from bench.registry import fresh_registry, registry_env, service_env
from bench.run import RESULTS, Fleet, _wait_http, scenario
from jobqueue import contract
from jobqueue.archive_stream import backlog
from jobqueue.archive_tables import archived_jobs
from jobqueue.database import create_engine
from jobqueue.settings import Settings
from models.interests.train import train
from tools.redis_server import RedisServer, free_port

PATH_ROLES = ("web", "worker", "redis")


def _fleet(env: dict[str, str], port: int, archiver: bool) -> Fleet:
    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "--config", "python:web.gunicorn_conf", "web.wsgi:app"],
        "worker": [python, "-m", "worker", "fast", "-l", "warning"],
    }
    if archiver:
        commands["archiver"] = [python, "-m", "worker", "archiver"]
    fleet = Fleet({**env, "PORT": str(port)}, commands)
    _wait_http(f"http://127.0.0.1:{port}/health")
    _wait_http(f"http://127.0.0.1:{port}/ready")
    time.sleep(2)  # the pool processes finish starting
    return fleet


def _archived(engine: sa.Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(sa.select(sa.func.count()).select_from(archived_jobs)).scalar_one())


def one_mode(
    env: dict[str, str], client: redis.Redis, engine: sa.Engine, archiver: bool, jobs: int, concurrency: int
) -> dict[str, Any]:
    """Drive ``jobs`` signups with the archiver on or off; the figures."""
    port = free_port()
    fleet = _fleet(env, port, archiver)
    try:
        before = _archived(engine)
        figures = scenario(fleet, client, f"http://127.0.0.1:{port}", "wait", jobs, concurrency)
        if archiver:
            started = fleet.cpu_seconds()["archiver"] - figures["cpu_ms_per_job"]["archiver"] * jobs / 1000
            deadline = time.monotonic() + 120
            while backlog(client).entries and time.monotonic() < deadline:
                time.sleep(0.2)
            # Until it has caught up: the whole cost of archiving these jobs, not just what ran alongside.
            figures["archiver_cpu_ms_per_job_until_caught_up"] = round(
                (fleet.cpu_seconds()["archiver"] - started) * 1000 / jobs, 3
            )
        figures["archived"] = _archived(engine) - before
        figures["backlog_after"] = backlog(client).entries
    finally:
        fleet.stop()
    # The next run starts from an empty stream: an archiver started on the off run's backlog would
    # spend the scenario catching up on it.
    client.delete(contract.ARCHIVE_STREAM)
    figures["archiver"] = "on" if archiver else "off"
    figures["signup_path_cpu_ms_per_job"] = round(sum(figures["cpu_ms_per_job"][r] for r in PATH_ROLES), 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs, alternated")
    args = parser.parse_args()
    results: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count()}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, RedisServer(data_dir=Path(tmp) / "redis") as server:
        train(fresh_registry(Path(tmp) / "models"), n_users=3000)
        env = service_env(Path(tmp) / "models", server.url)
        client = redis.Redis.from_url(server.url)
        engine = create_engine(Settings.from_env(registry_env(Path(tmp) / "models")))
        for _ in range(args.rounds):
            for archiver in (False, True):
                figures = one_mode(env, client, engine, archiver, args.jobs, args.concurrency)
                runs.append(figures)
                print(json.dumps(figures), flush=True)
        engine.dispose()
    results["runs"] = runs
    results["summary"] = {
        mode: {
            name: round(statistics.median(run[name] for run in runs if run["archiver"] == mode), 3)
            for name in ("p50_ms", "p99_ms", "jobs_per_s", "signup_path_cpu_ms_per_job")
        }
        for mode in ("off", "on")
    }
    print(json.dumps(results["summary"], indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"archive-{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
