"""Heavy work measured: a global explanation fanned out over 1 and 2 heavy processes, and signups beside them.

    python -m bench.heavy [--registry DIR] [--signups 600]

Fan-out: the service runs with HEAVY_CONCURRENCY=1, then 2; each time three
10,000-customer global explanations (fresh seeds, so nothing is cached) are
timed from submission to result (the median counts), then one over the whole
30,000-customer table. Each run is split into its chunks' work (the heavy
worker's ``chunk_done`` log lines) and what running them as tasks added beyond
it. Each heavy process's peak RSS is sampled every 0.1 s, the whole worker's
PSS every 0.5 s.
Then the ceiling: the same chunks computed directly, in one process and in two
at once, which is what two processes can gain on this machine at best.

Isolation: with the default settings (one heavy process, HEAVY_NICE), signup
p50/p99 at concurrency 8 with nothing else running, then while 10,000-customer
explanations run back to back (the heavy processes' CPU share during each busy
round shows they overlapped); then the same with HEAVY_NICE=0, to show what
the lever is worth. Idle and busy rounds alternate, five times, so drift on
shared cores lands on both; the median round's p99 of each kind is compared.

``bench.run`` calls ``measure_heavy`` so these figures go in its results file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests
from threadpoolctl import threadpool_limits

from bench.credit_explain import Service, TreeMemory, explanation, run_job, signup_latencies
from bench.registry import fresh_registry
from models.build import build_missing
from models.credit import explain
from models.loader import ModelLoader

ROUNDS = 5
WARM_LOCAL = {"model": "credit", "task": "explain", "input": {"customer_id": 100002}}


@contextmanager
def running(registry: Path, logs: Path, deadline: float, **settings: str) -> Iterator[Service]:
    """The service with ``settings``, ready, its heavy processes warm (shap imported, the model loaded)."""
    service = Service(registry, logs, **settings)
    try:
        service.wait_ready(min(deadline, time.monotonic() + 120))
        session = requests.Session()
        run_job(session, service.url, WARM_LOCAL, deadline)
        # Two chunks, so with two processes both are likely to have run one.
        run_job(session, service.url, explanation(1000, 9_999), deadline)
        yield service
    finally:
        service.stop()


def _timed_explanation(service: Service, sample_size: int, seed: int, deadline: float) -> dict[str, Any]:
    job = run_job(requests.Session(), service.url, explanation(sample_size, seed), deadline)
    return {"id": job["id"], "sample_size": job["result"]["sample_size"], "wall_s": round(job["wall_s"], 2)}


def _chunk_seconds(logs: Path, job_id: str) -> list[float]:
    """Each chunk's compute time for ``job_id``, from the heavy worker's ``chunk_done`` log lines."""
    seconds = []
    for line in (logs / "heavy.log").read_text(errors="replace").splitlines():
        if job_id in line and '"chunk_done"' in line:
            seconds.append(json.loads(line)["compute_ms"] / 1000)
    return seconds


def _where_the_time_went(logs: Path, timed: dict[str, Any], processes: int) -> dict[str, Any]:
    """Split an explanation's wall time into its chunks' work and what running them as tasks added.

    With ``processes`` busy all along, the wall time would be the chunks' work
    over ``processes``; the rest is planning, hand-offs, the last chunk's tail
    and the client's wake-up.
    """
    chunks = _chunk_seconds(logs, timed["id"])
    work = sum(chunks)
    return {
        "chunks": len(chunks),
        "chunk_mean_s": round(work / len(chunks), 3) if chunks else None,
        "work_s": round(work, 2),
        "beyond_work_s": round(timed["wall_s"] - work / processes, 2),
    }


def _chunks_alone(registry: Path, seed: int, chunks: int = 10) -> float:
    """Seconds one process takes for ``chunks`` chunks of 500 customers, computed directly (no service)."""
    threadpool_limits(limits=1)  # as in a worker's pool process
    store = fresh_registry(registry)
    model = ModelLoader(store).get("credit", store.active_version("credit"))
    ids = explain.sample_ids(model, 500 * chunks, seed)
    explain.abs_sums(model, ids[:100])  # warm: shap imported, the explainer built
    started = time.perf_counter()
    for start in range(0, len(ids), 500):
        explain.abs_sums(model, ids[start : start + 500])
    return time.perf_counter() - started


def parallel_ceiling(registry: Path) -> dict[str, Any]:
    """The most two heavy processes can gain here: the same chunks in one process, then in two at once.

    Computed without Redis, Celery or the web, so the ratio is the machine's: two
    vCPUs that share a core's caches (or a host's) run this memory-bound tree
    walk slower side by side than alone.
    """
    alone = _chunks_alone(registry, 1)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        both = pool.starmap(_chunks_alone, [(registry, 1), (registry, 2)])
    figures = {
        "ten_chunks_alone_s": round(alone, 2),
        "ten_chunks_each_two_at_once_s": [round(t, 2) for t in both],
        "speedup_ceiling": round(2 * alone / max(both), 2),
    }
    print(json.dumps({"parallel_ceiling": figures}), flush=True)
    return figures


def fanout(registry: Path, logs: Path, deadline: float) -> dict[str, Any]:
    """10,000 customers (three times) and 30,000 on 1 and 2 heavy processes, with each process's peak RSS."""
    figures: dict[str, Any] = {}
    for processes in (1, 2):
        # INFO, for the chunks' own timings (chunk_done) in the heavy worker's log.
        with running(registry, logs, deadline, HEAVY_CONCURRENCY=str(processes), LOG_LEVEL="INFO") as service:
            memory = TreeMemory(service.procs["heavy"].pid)
            memory.start()
            timed = [_timed_explanation(service, 10_000, 100 * processes + run, deadline) for run in range(3)]
            whole = _timed_explanation(service, 30_000, 200 + processes, deadline)
            tens = [run["wall_s"] for run in timed]
            runs: dict[str, Any] = {
                "explain_10000_s": tens,
                "explain_10000_median_s": statistics.median(tens),
                "explain_30000_s": whole["wall_s"],
                "explain_10000_breakdown": [_where_the_time_went(logs, run, processes) for run in timed],
                "explain_30000_breakdown": _where_the_time_went(logs, whole, processes),
            }
            memory.stop.set()
            memory.join()
            runs["peak_rss_mib_per_process"] = sorted(
                (round(rss / 2**20, 1) for rss in memory.peak_rss_by_pid.values()), reverse=True
            )
            # What the whole worker (main process and pool) holds, shared pages split: the dyno's figure.
            runs["peak_pss_mib_worker"] = round(memory.peak_pss / 2**20, 1)
            figures[f"heavy_processes_{processes}"] = runs
            print(json.dumps({f"fanout_heavy_{processes}": runs}), flush=True)
    one, two = figures["heavy_processes_1"], figures["heavy_processes_2"]
    figures["speedup_10000_two_over_one"] = round(one["explain_10000_median_s"] / two["explain_10000_median_s"], 2)
    figures["speedup_30000_two_over_one"] = round(one["explain_30000_s"] / two["explain_30000_s"], 2)
    figures["ceiling"] = parallel_ceiling(registry)
    return figures


def _signups_beside_explanations(service: Service, signups: int, concurrency: int, deadline: float) -> dict[str, Any]:
    """Signup latencies while 10,000-customer explanations run back to back, each on a new seed."""
    stop, started = threading.Event(), threading.Event()
    finished: list[float] = []

    def explain_loop() -> None:
        session, seed = requests.Session(), 1_000
        while not stop.is_set():
            started.set()
            finished.append(run_job(session, service.url, explanation(10_000, seed), deadline)["wall_s"])
            seed += 1

    heavy = psutil.Process(service.procs["heavy"].pid)
    looping = threading.Thread(target=explain_loop, daemon=True)
    looping.start()
    started.wait(10)
    time.sleep(1.0)  # the first chunks are running
    cpu_before, window_started = _tree_cpu_s(heavy), time.monotonic()
    figures = signup_latencies(service.url, signups, concurrency, deadline)
    # Proof of overlap: the share of one core the heavy processes had while the signups ran.
    figures["heavy_cpu_share"] = round((_tree_cpu_s(heavy) - cpu_before) / (time.monotonic() - window_started), 2)
    stop.set()
    looping.join(max(1.0, deadline - time.monotonic()))
    figures["explanations_finished"] = len(finished)
    return figures


def _tree_cpu_s(root: psutil.Process) -> float:
    """CPU seconds (user + system) used so far by a process and its children, live and reaped."""
    own = root.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for process in root.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a pool process replaced between listing and reading
            total += sum(process.cpu_times()[:2])
    return total


def isolation(registry: Path, logs: Path, signups: int, deadline: float, **settings: str) -> dict[str, Any]:
    """Signup p50/p99 at concurrency 8, idle and beside back-to-back explanations, alternating ROUNDS times."""
    concurrency = 8
    rounds: dict[str, list[dict[str, Any]]] = {"idle": [], "busy": []}
    with running(registry, logs, deadline, **settings) as service:
        signup_latencies(service.url, 100, concurrency, deadline)  # warm the web and fast processes
        for _ in range(ROUNDS):
            rounds["idle"].append(signup_latencies(service.url, signups, concurrency, deadline))
            rounds["busy"].append(_signups_beside_explanations(service, signups, concurrency, deadline))
    # The median round of each kind: one noisy round on shared cores moves it least.
    middle = {name: statistics.median(r["p99_ms"] for r in runs) for name, runs in rounds.items()}
    figures = {
        "settings": settings,
        "concurrency": concurrency,
        **rounds,
        "p99_idle_ms": middle["idle"],
        "p99_busy_ms": middle["busy"],
        "p99_ratio": round(middle["busy"] / middle["idle"], 2),
    }
    print(json.dumps({"isolation": figures}), flush=True)
    return figures


def measure_heavy(
    registry: Path, logs: Path, signups: int, timeout_s: float, with_isolation: bool = True
) -> dict[str, Any]:
    """Every heavy scenario on the registry under ``registry`` (its credit model trained if absent)."""
    deadline = time.monotonic() + timeout_s
    build_missing(fresh_registry(registry))
    figures = {"fanout": fanout(registry, logs, deadline)}
    if with_isolation:
        figures["isolation"] = isolation(registry, logs, signups, deadline)
        figures["isolation_without_nice"] = isolation(registry, logs, signups, deadline, HEAVY_NICE="0")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, default=None, help="a registry from an earlier run")
    parser.add_argument("--signups", type=int, default=600, help="signups per isolation round")
    parser.add_argument("--timeout", type=float, default=1200.0, help="give up after this many seconds")
    parser.add_argument("--fanout-only", action="store_true", help="the fan-out scenario alone (about 1.5 minutes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-heavy-") as tmp:
        registry = args.registry or Path(tmp) / "models"
        figures = measure_heavy(registry, Path(tmp), args.signups, args.timeout, with_isolation=not args.fanout_only)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
