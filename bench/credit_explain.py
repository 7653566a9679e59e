"""Measure global SHAP explanations of the credit model, the heavy worker's memory, and signup latency beside them.

    python -m bench.credit_explain [--registry DIR] [--signups 400] [--concurrency 4]

Starts a private Redis, the Procfile's processes (gunicorn on 127.0.0.1, a fast
worker -c 2, a heavy worker -c 1) and, without --registry, trains both models
at their full size into a temporary folder. It then reports: the time of a
global explanation over 1,000 and 10,000 customers (and of a cached repeat),
the time per chunk, the heavy worker's peak memory (RSS and PSS summed over its
process tree), and p50/p99 of signup jobs (POST /jobs?wait) with no
explanation running and while 10,000-customer explanations run back to back.
Loopback only; every wait is bounded by --timeout.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.registry import fresh_registry, registry_env
from jobqueue.settings import PROJECT_ROOT
from models.build import build_missing
from tools.redis_server import RedisServer, free_port

SIGNUP = {"model": "interests", "input": {"interests": ["surfing", "python", "jazz"], "city": "Lisbon"}}


def explanation(sample_size: int, seed: int) -> dict[str, Any]:
    return {
        "model": "credit",
        "task": "explain",
        "params": {"scope": "global", "sample_size": sample_size, "seed": seed},
    }


class TreeMemory(threading.Thread):
    """Samples a process tree's summed RSS (every 0.1 s) and PSS (every 0.5 s); keeps the peaks, and each process's."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak_rss = self.peak_pss = 0
        self.peak_rss_by_pid: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self.stop.wait(0.1):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                sizes = {p.pid: p.memory_info().rss for p in procs}
                self.peak_rss = max(self.peak_rss, sum(sizes.values()))
                for pid, rss in sizes.items():
                    self.peak_rss_by_pid[pid] = max(self.peak_rss_by_pid.get(pid, 0), rss)
                if tick % 5 == 0:  # PSS splits shared pages fairly, but reading it costs more
                    self.peak_pss = max(self.peak_pss, sum(p.memory_full_info().pss for p in procs))
            except psutil.Error:
                pass  # a child recycled between listing and reading
            tick += 1


class Service:
    """Redis, web and the three workers as subprocesses; stopped in reverse order."""

    def __init__(self, registry: Path, logs: Path, **settings: str) -> None:
        self.redis = RedisServer()
        self.redis.start()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            **registry_env(registry),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "WEB_CONCURRENCY": "2",
            **settings,  # last, so a scenario may change any of the above (LOG_LEVEL included)
        }
        worker = [sys.executable, "-m", "worker"]
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:web.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{self.port}",
                "web.wsgi:app",
            ],
            # As the Procfile runs them; /ready wants a consumer on every queue.
            "fast": [*worker, "fast", "-n", "bench-fast@%h"],
            "heavy": [*worker, "heavy", "-n", "bench-heavy@%h"],
            "callbacks": [*worker, "callbacks", "-n", "bench-callbacks@%h", "-c", "1"],
        }
        self.procs = {
            name: subprocess.Popen(
                argv, cwd=PROJECT_ROOT, env=env, stdout=open(logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT
            )
            for name, argv in commands.items()
        }

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SystemExit("the service did not become ready in time; see the logs")

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.stop()


def run_job(session: requests.Session, url: str, body: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Submit and wait for a job; returns it with the client-side seconds under 'wall_s'."""
    started = time.perf_counter()
    job = session.post(f"{url}/jobs?wait=30", json=body, timeout=35).json()
    while job.get("status") not in ("succeeded", "failed", "canceled"):
        if "id" not in job or time.monotonic() > deadline:
            raise RuntimeError(f"job did not finish: {job}")
        job = session.get(f"{url}/jobs/{job['id']}?wait=30", timeout=35).json()
    job["wall_s"] = time.perf_counter() - started
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job['id']} {job['status']}: {job['error']}")
    return job


def signup_latencies(url: str, count: int, concurrency: int, deadline: float) -> dict[str, float]:
    """p50/p99/max of ``count`` signups submitted by ``concurrency`` clients, in milliseconds."""
    local = threading.local()

    def one(_: int) -> float:
        local.session = getattr(local, "session", None) or requests.Session()
        return run_job(local.session, url, SIGNUP, deadline)["wall_s"] * 1000

    with ThreadPoolExecutor(concurrency) as pool:
        ms = sorted(pool.map(one, range(count)))
    return {
        "count": count,
        "p50_ms": round(ms[len(ms) // 2], 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1),
        "max_ms": round(ms[-1], 1),
    }


def timed(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "wall_s": round(job["wall_s"], 2),
        "cached": job["result"]["cached"],
        "sample_size": job["result"]["sample_size"],
    }


def measure(service: Service, signups: int, concurrency: int, deadline: float) -> dict[str, Any]:
    session, url = requests.Session(), service.url
    memory = TreeMemory(service.procs["heavy"].pid)
    memory.start()
    # Warm-up: the heavy child imports shap on its first explanation.
    run_job(session, url, {"model": "credit", "task": "explain", "input": {"customer_id": 100002}}, deadline)
    signup_latencies(url, 20, concurrency, deadline)
    figures: dict[str, Any] = {"signups_idle": signup_latencies(url, signups, concurrency, deadline)}
    figures["explain_1000"] = timed(run_job(session, url, explanation(1000, 1), deadline))
    figures["explain_1000_repeat"] = timed(run_job(session, url, explanation(1000, 1), deadline))
    alone = run_job(session, url, explanation(10_000, 2), deadline)
    figures["explain_10000"] = {**timed(alone), **_worker_time(alone)}

    # Back-to-back 10,000-customer explanations (new seeds: no cache) while signups run.
    results: list[dict[str, Any]] = []
    busy = threading.Event()
    done = threading.Event()

    def explain_loop() -> None:
        heavy_session, seed = requests.Session(), 100
        while not done.is_set():
            busy.set()
            results.append(run_job(heavy_session, url, explanation(10_000, seed), deadline))
            seed += 1

    looping = threading.Thread(target=explain_loop, daemon=True)
    looping.start()
    busy.wait(10)
    time.sleep(1.0)  # let the first chunk start
    figures["signups_during_explain"] = signup_latencies(url, signups, concurrency, deadline)
    # Proof of overlap: an explanation is still running when the last signup is in.
    running = session.get(f"{url}/jobs?model=credit&status=running&limit=1", timeout=5).json()["jobs"]
    figures["signups_during_explain"]["explanation_running_at_end"] = bool(running)
    done.set()
    looping.join(max(1.0, deadline - time.monotonic()))
    figures["explain_10000_beside_signups"] = {**timed(results[0]), **_worker_time(results[0])}
    figures["explain_10000_runs_during_signups"] = len(results)
    memory.stop.set()
    memory.join()
    figures["heavy_worker_peak_rss_mib"] = round(memory.peak_rss / 2**20, 1)
    figures["heavy_worker_peak_pss_mib"] = round(memory.peak_pss / 2**20, 1)
    return figures


def _worker_time(job: dict[str, Any], chunk_rows: int = 500) -> dict[str, float]:
    """Seconds the worker spent on a job (from its record), and per chunk of the default size."""
    started, finished = (
        dt.datetime.fromisoformat(job[k].replace("Z", "+00:00")).timestamp() for k in ("started_at", "finished_at")
    )
    chunks = -(-job["result"]["sample_size"] // chunk_rows)
    return {"worker_s": round(finished - started, 2), "per_chunk_s": round((finished - started) / chunks, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        help="a folder holding a registry from an earlier run; default: train both models afresh",
    )
    parser.add_argument("--signups", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    with tempfile.TemporaryDirectory(prefix="bench-credit-") as tmp:
        registry = args.registry or Path(tmp) / "models"
        build_missing(fresh_registry(registry))
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        service = Service(registry, logs)
        try:
            service.wait_ready(min(deadline, time.monotonic() + 120))
            figures = measure(service, args.signups, args.concurrency, deadline)
        finally:
            service.stop()
    figures["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
