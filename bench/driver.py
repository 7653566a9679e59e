"""A load driver for signup jobs: many concurrent clients, each submitting and then waiting or polling.

    python -m bench.driver --url http://127.0.0.1:8000 --design wait --jobs 2000 --concurrency 32 [--api-key KEY]

Designs: ``wait`` (this service, POST /jobs?wait), ``poll`` (this service,
POST then GET /jobs/<id> every 20 ms), ``sync`` (bench.sync_app: the result in
the response) and ``naive`` (bench.naive_app: delay() then polling every
20 ms). Loopback only; every loop is bounded by --jobs and a deadline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from models.interests.dataset import CITIES, VOCABULARY

POLL_INTERVAL_S = 0.02
TERMINAL = ("succeeded", "failed", "canceled")


class Client:
    """One keep-alive HTTP connection, counting its requests."""

    def __init__(self, host: str, port: int, api_key: str | None = None) -> None:
        self.host, self.port, self.requests = host, port, 0
        self.auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.conn = http.client.HTTPConnection(host, port, timeout=40)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.auth, **({"Content-Type": "application/json"} if data else {})}
        self.requests += 1
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()  # a dropped keep-alive connection: reconnect once
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=40)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
        return response.status, json.loads(response.read() or b"null")


def signup(rng: random.Random) -> dict[str, Any]:
    return {"interests": rng.sample(VOCABULARY, rng.randint(2, 6)), "city": rng.choice(CITIES)}


def _service(client: Client, record: dict, poll: bool, deadline: float) -> None:
    status, job = client.call("POST", "/jobs" if poll else "/jobs?wait=30", {"model": "interests", "input": record})
    if status not in (200, 202):
        raise RuntimeError(f"HTTP {status}: {job}")
    while job["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(job["id"])
        if poll:
            time.sleep(POLL_INTERVAL_S)
        status, job = client.call("GET", f"/jobs/{job['id']}" + ("" if poll else "?wait=30"))
    if job["status"] != "succeeded" or not job["result"]["room"]:
        raise RuntimeError(f"job {job['id']} {job['status']}: {job['error']}")


def _sync(client: Client, record: dict, deadline: float) -> None:
    status, result = client.call("POST", "/predict", {"input": record})
    if status != 200 or not result["room"]:
        raise RuntimeError(f"HTTP {status}: {result}")


def _naive(client: Client, record: dict, deadline: float) -> None:
    status, body = client.call("POST", "/predict", {"input": record})
    if status != 202:
        raise RuntimeError(f"HTTP {status}: {body}")
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(body["id"])
        time.sleep(POLL_INTERVAL_S)
        status, state = client.call("GET", f"/result/{body['id']}")
        if state["status"] == "succeeded":
            return


DESIGNS: dict[str, Callable[[Client, dict, float], None]] = {
    "wait": lambda c, r, d: _service(c, r, False, d),
    "poll": lambda c, r, d: _service(c, r, True, d),
    "sync": _sync,
    "naive": _naive,
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def drive(
    url: str,
    design: str,
    jobs: int,
    concurrency: int,
    timeout_s: float = 300.0,
    seed: int = 0,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Run ``jobs`` signups over ``concurrency`` clients against ``url``; return the figures."""
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("this driver only targets loopback addresses")
    deadline = time.monotonic() + timeout_s
    run_one, local = DESIGNS[design], threading.local()
    clients: list[Client] = []
    latencies: list[float] = []
    errors: list[str] = []

    def task(index: int) -> None:
        if not hasattr(local, "client"):
            local.client = Client(parsed.hostname, parsed.port or 80, api_key)
            clients.append(local.client)
        record = signup(random.Random(seed * 1_000_003 + index))
        started = time.perf_counter()
        try:
            run_one(local.client, record, deadline)
            latencies.append(time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - counted and reported, not fatal
            errors.append(f"{type(exc).__name__}: {exc}")

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(task, range(jobs)))
    elapsed = time.perf_counter() - started
    ms = [v * 1000 for v in latencies]
    return {
        "design": design,
        "concurrency": concurrency,
        "jobs": jobs,
        "seconds": round(elapsed, 2),
        "jobs_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 2) if ms else None,
        "p95_ms": round(percentile(ms, 95), 2) if ms else None,
        "p99_ms": round(percentile(ms, 99), 2) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 2) if ms else None,
        "errors": len(errors),
        "first_errors": errors[:3],
        "http_requests_per_job": round(sum(c.requests for c in clients) / max(1, jobs), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--design", choices=sorted(DESIGNS), default="wait")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300.0, help="stop after this many seconds")
    parser.add_argument("--api-key", default=None, help="sent as a Bearer token when auth is on")
    args = parser.parse_args()
    figures = drive(args.url, args.design, args.jobs, args.concurrency, args.timeout, api_key=args.api_key)
    figures["rss_mib"] = server_rss()
    print(json.dumps(figures, indent=2))


# Matched against command lines; the node names are the Procfile's, so test
# workers running on the same machine are not counted.
SERVER_PATTERNS = {
    "web": ("gunicorn", "web.wsgi"),
    "worker": ("celery", "-n fast@"),
    "heavy": ("celery", "-n heavy@"),
    "callbacks": ("celery", "-n callbacks@"),
}


def server_rss() -> dict[str, list[float]]:
    """Resident memory (MiB) of each process of a running ``make run`` service, per Procfile role."""
    import psutil

    found: dict[str, list[float]] = {}
    for proc in psutil.process_iter(["cmdline", "memory_info"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        for role, needles in SERVER_PATTERNS.items():
            if all(n in cmdline for n in needles) and not cmdline.startswith("/bin/sh"):
                found.setdefault(role, []).append(round(proc.info["memory_info"].rss / 2**20, 1))
    return {role: sorted(sizes, reverse=True) for role, sizes in sorted(found.items())}


if __name__ == "__main__":
    main()
