"""Benchmark this service against a synchronous Flask app and a straightforward Flask + Celery build.

    python -m bench.run                 # the comparison, then bench.heavy's scenarios (about 10 minutes)
    python -m bench.run --soak 100000   # plus RSS after every 10% of 100,000 jobs
    python -m bench.run --designs sync,naive,service   # the signup comparison alone

Each design runs alone, on the same private Redis, model and load driver, with
only its own processes started; everything listens on 127.0.0.1. Figures go
to stdout and to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import redis

from bench.driver import drive, signup
from bench.heavy import measure_heavy
from bench.registry import fresh_registry, service_env
from models.interests.train import train
from tools.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


class Fleet:
    """The server processes of one design, with a peak-RSS sampler per role."""

    def __init__(self, env: dict[str, str], commands: dict[str, list[str]]) -> None:
        self.procs = {
            role: subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for role, argv in commands.items()
        }
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def rss(self) -> dict[str, list[float]]:
        """Current RSS (MiB) of every process of each role, the role's main process first."""
        out = {}
        for role, proc in self.procs.items():
            try:
                tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
                out[role] = [round(p.memory_info().rss / 2**20, 1) for p in tree]
            except psutil.NoSuchProcess:
                out[role] = []
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each role's processes together."""
        out = {}
        for role, proc in self.procs.items():
            try:
                tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
                out[role] = sum(sum(p.cpu_times()[:2]) for p in tree)
            except psutil.NoSuchProcess:
                out[role] = 0.0
        return out

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for role, sizes in self.rss().items():
                self.peak[role] = max(self.peak.get(role, 0.0), max(sizes, default=0.0))

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_http(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered, which is all this waits for
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


def _commands(client: redis.Redis) -> int:
    return sum(stat["calls"] for name, stat in client.info("commandstats").items())


def _cpu_seconds(fleet: Fleet, client: redis.Redis) -> dict[str, float]:
    """CPU used so far by each role, Redis, and this process (the load driver)."""
    info = client.info("cpu")
    driver = psutil.Process().cpu_times()
    return {
        **fleet.cpu_seconds(),
        "redis": info["used_cpu_user"] + info["used_cpu_sys"],
        "driver": driver.user + driver.system,
    }


@contextmanager
def design(name: str, env: dict[str, str], port: int, fast_worker_args: tuple[str, ...] = ()) -> Iterator[Fleet]:
    """Start one design's processes, wait until it serves, stop them afterwards."""
    python = sys.executable
    gunicorn = [python, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2"]
    celery = [python, "-m", "celery"]
    commands = {
        "service": {
            "web": [python, "-m", "gunicorn", "--config", "python:web.gunicorn_conf", "web.wsgi:app"],
            "worker": [python, "-m", "worker", "fast", "-l", "warning", *fast_worker_args],
            # Every job that ends is archived: part of what a signup costs.
            "archiver": [python, "-m", "worker", "archiver"],
        },
        "sync": {"web": [*gunicorn, "bench.sync_app:app"]},
        "naive": {
            "web": [*gunicorn, "bench.naive_app:app"],
            "worker": [*celery, "-A", "bench.naive_app:celery", "worker", "-c", "2", "-l", "warning"],
        },
    }[name]
    fleet = Fleet({**env, "PORT": str(port)}, commands)
    try:
        _wait_http(f"http://127.0.0.1:{port}/health" if name == "service" else f"http://127.0.0.1:{port}/nope")
        if name == "service":
            _wait_http(f"http://127.0.0.1:{port}/ready")
        time.sleep(2)  # let the workers' pool processes finish starting before judging them
        dead = [role for role, proc in fleet.procs.items() if proc.poll() is not None]
        if dead:
            raise RuntimeError(f"{name}: {', '.join(dead)} exited at start-up")
        yield fleet
    finally:
        fleet.stop()


def scenario(
    fleet: Fleet, client: redis.Redis, url: str, design_name: str, jobs: int, concurrency: int
) -> dict[str, Any]:
    """Warm up, then drive ``jobs`` signups; add Redis commands, CPU ms per job and peak RSS."""
    drive(url, design_name, min(200, jobs), concurrency)
    fleet.peak.clear()
    before, cpu_before = _commands(client), _cpu_seconds(fleet, client)
    figures = drive(url, design_name, jobs, concurrency)
    figures["redis_commands_per_job"] = round((_commands(client) - before) / jobs, 1)
    cpu_after = _cpu_seconds(fleet, client)
    # Where the time goes: a design is as fast as the CPU it spends per job on 2 shared cores.
    figures["cpu_ms_per_job"] = {
        role: round((cpu_after[role] - cpu_before[role]) * 1000 / jobs, 2) for role in cpu_after
    }
    figures["peak_rss_mib"] = dict(fleet.peak)
    return figures


def big_batch(url: str, size: int) -> dict[str, Any]:
    """Submit one job of ``size`` signups and time it until its result is in hand."""
    import random

    rng = random.Random(7)
    body = json.dumps({"model": "interests", "inputs": [signup(rng) for _ in range(size)]}).encode()
    started = time.perf_counter()
    request = urllib.request.Request(f"{url}/jobs?wait=30", data=body, headers={"Content-Type": "application/json"})
    job = json.load(urllib.request.urlopen(request, timeout=40))
    elapsed = time.perf_counter() - started
    return {"records": size, "status": job["status"], "seconds": round(elapsed, 3), "results": len(job["result"] or [])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000, help="signups per scenario")
    parser.add_argument("--soak", type=int, default=0, help="then push this many jobs and track RSS")
    parser.add_argument(
        "--designs", default="sync,naive,service,heavy", help="comma-separated subset to run (heavy: bench.heavy)"
    )
    parser.add_argument("--signups", type=int, default=600, help="signups per isolation round of the heavy scenarios")
    parser.add_argument("--web-worker-class", default="gthread", help="the service's gunicorn worker class")
    parser.add_argument(
        "--fast-worker-args", default="", help="extra options for the service's fast worker, e.g. '-P solo'"
    )
    parser.add_argument("--web-threads", type=int, default=32, help="threads per gunicorn worker (gthread)")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "scenarios": [],
    }
    with tempfile.TemporaryDirectory() as tmp, RedisServer(data_dir=Path(tmp) / "redis") as server:
        train(fresh_registry(Path(tmp) / "models"), n_users=3000)
        env = {
            **service_env(Path(tmp) / "models", server.url),
            "WEB_WORKER_CLASS": args.web_worker_class,
            "WEB_THREADS": str(args.web_threads),
        }
        results["service_web"] = {"worker_class": args.web_worker_class, "threads": args.web_threads}
        results["service_fast_worker_args"] = args.fast_worker_args
        client = redis.Redis.from_url(server.url)
        plan = [("sync", 1), ("sync", 32), ("naive", 8), ("naive", 32), ("service", 1), ("service", 32)]
        for name in args.designs.split(","):
            if name == "heavy":  # its own Redis and processes: the whole service, with the credit model
                results["heavy"] = measure_heavy(Path(tmp) / "heavy-models", Path(tmp), args.signups, 1800)
                continue
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with design(name, env, port, tuple(args.fast_worker_args.split())) as fleet:
                for _, concurrency in [p for p in plan if p[0] == name]:
                    driver_design = {"service": "wait"}.get(name, name)
                    figures = scenario(fleet, client, url, driver_design, args.jobs, concurrency)
                    figures["system"] = name
                    results["scenarios"].append(figures)
                    print(json.dumps(figures), flush=True)
                if name == "service":
                    results["batch_10000"] = big_batch(url, 10_000)
                    print(json.dumps(results["batch_10000"]), flush=True)
                    if args.soak:
                        results["soak"] = soak(fleet, url, args.soak)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{results['when'].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results written to {path}")


def soak(fleet: Fleet, url: str, total: int) -> list[dict[str, Any]]:
    """Push ``total`` jobs in ten steps, recording RSS after each: growth shows as a trend."""
    steps = []
    for step in range(1, 11):
        figures = drive(url, "wait", total // 10, 32, timeout_s=600)
        steps.append(
            {
                "jobs_done": step * (total // 10),
                "jobs_per_s": figures["jobs_per_s"],
                "errors": figures["errors"],
                "rss_mib": fleet.rss(),
            }
        )
        print(json.dumps(steps[-1]), flush=True)
    return steps


if __name__ == "__main__":
    main()
