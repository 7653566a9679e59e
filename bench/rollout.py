"""Measure a rollout under load, training jobs through the queue, and CSV classifiers' training time and scores.

    python -m bench.rollout [--jobs 300] [--concurrency 4] [--csv FILE --target COLUMN]

Starts a private Redis and the Procfile's processes on a fresh store (iris
trained twice). While clients keep submitting iris jobs, it activates the
other version through PUT /models/iris/active and reports: how many jobs ran on
each version, any failed job, the seconds from the activation's response to
the first finished job on the new version, and iris latency p50/p99 before and
around the rollout. Then it times an iris train job per estimator (worker
seconds from the job record) and, with --csv, the CSV trainer per estimator
with its held-out scores. Loopback only; every wait is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.credit_explain import Service, run_job
from bench.registry import fresh_registry
from models.build import build_missing
from models.iris.train import train as train_iris
from models.store import ModelStore
from models.tabular.train_csv import train as train_csv

IRIS = {
    "model": "iris",
    "input": {"SepalLengthCm": 6.0, "SepalWidthCm": 2.9, "PetalLengthCm": 4.6, "PetalWidthCm": 1.5},
}


def _percentiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "count": len(ms),
        "p50_ms": round(ms[len(ms) // 2], 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 1),
    }


def rollout(url: str, new: str, jobs: int, concurrency: int, deadline: float) -> dict[str, Any]:
    """Clients submit ``jobs`` iris jobs; a third of the way in, ``new`` is activated."""
    finished: list[tuple[float, float, str]] = []  # (finish time, latency ms, version)
    failures: list[str] = []
    local, lock, activated = threading.local(), threading.Lock(), {}

    def one(index: int) -> None:
        local.session = getattr(local, "session", None) or requests.Session()
        if index == jobs // 3 and not activated:
            response = local.session.put(f"{url}/models/iris/active", json={"version": new}, timeout=10)
            activated["at"] = time.perf_counter()
            response.raise_for_status()
        try:
            job = run_job(local.session, url, IRIS, deadline)
        except RuntimeError as exc:
            failures.append(str(exc))
            return
        with lock:
            finished.append((time.perf_counter(), job["wall_s"] * 1000, job["model_version"]))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(jobs)))
    after = [f for f in finished if f[2] == new]
    first_new = min(f[0] for f in after) - activated["at"] if after else None
    return {
        "jobs": jobs,
        "failed": len(failures),
        "on_new_version": len(after),
        "on_old_version": len(finished) - len(after),
        "first_new_version_job_s_after_activation": round(first_new, 3) if first_new is not None else None,
        "latency_before": _percentiles([f[1] for f in finished if f[0] < activated["at"]]),
        "latency_after": _percentiles([f[1] for f in finished if f[0] >= activated["at"]]),
    }


def _worker_seconds(job: dict[str, Any]) -> float:
    started, finished = (
        dt.datetime.fromisoformat(job[k].replace("Z", "+00:00")) for k in ("started_at", "finished_at")
    )
    return round((finished - started).total_seconds(), 2)


def training_jobs(url: str, deadline: float) -> dict[str, Any]:
    session, figures = requests.Session(), {}
    for estimator in ("logreg", "svm", "forest"):
        job = run_job(session, url, {"model": "iris", "task": "train", "params": {"estimator": estimator}}, deadline)
        figures[estimator] = {
            "wall_s": round(job["wall_s"], 2),
            "worker_s": _worker_seconds(job),
            "accuracy": job["result"]["metrics"]["accuracy"],
        }
    return figures


def csv_training(store: ModelStore, csv: Path, target: str) -> dict[str, Any]:
    figures = {}
    for estimator in ("svm", "logreg", "forest"):
        started = time.perf_counter()
        manifest = train_csv(store, f"bench-{estimator}", csv, target, estimator=estimator)
        figures[estimator] = {
            "train_s": round(time.perf_counter() - started, 2),
            **manifest.metrics,
            "best_params": manifest.details["best_params"],
            "cv_best_score": manifest.details["cv"]["best_score"],
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--csv", type=Path, default=None, help="also train classifiers on this CSV")
    parser.add_argument("--target", default="target")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        store = fresh_registry(Path(tmp) / "models")
        build_missing(store)
        new = train_iris(store, estimator="logreg", seed=1, activate=False).version
        service = Service(Path(tmp) / "models", Path(tmp))
        try:
            service.wait_ready(min(deadline, time.monotonic() + 120))
            run_job(requests.Session(), service.url, IRIS, deadline)  # warm-up
            figures: dict[str, Any] = {"rollout": rollout(service.url, new, args.jobs, args.concurrency, deadline)}
            figures["iris_train_jobs"] = training_jobs(service.url, deadline)
        finally:
            service.stop()
        if args.csv:
            figures["csv_training"] = csv_training(store, args.csv, args.target)
    figures["machine"] = {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
