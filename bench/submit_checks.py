"""Measure what API keys, the rate limit and the queue-depth check add to POST /jobs.

    python -m bench.submit_checks [--jobs 2000] [--registry DIR]

In one process against a private Redis, the same signup is submitted through
the Flask test client by two apps: one open with no limits, and one with API
keys, a per-key rate limit, a depth limit (both checked inside the create
script, so no extra round trip) and a callback_url (an address literal, so
the check needs no DNS). The two
alternate in blocks, so a busy machine slows both alike; the script prints
p50, p95 and mean per request in ms for each, and their ratio. No worker runs:
the jobs stay queued, and the database is flushed between blocks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.registry import fresh_registry, registry_env
from jobqueue.settings import Settings
from models.interests.train import train
from tools.redis_server import RedisServer
from web.app import create_app

SIGNUP = {"model": "interests", "input": {"interests": ["surfing", "python", "jazz"], "city": "Lisbon"}}
KEY = "bench-client-key-000001"
BLOCK = 100


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(jobs: int, registry: Path) -> dict:
    """Submit ``jobs`` signups through each app, alternating blocks; return the figures."""
    with RedisServer() as server:
        base = Settings.from_env({**registry_env(registry), "REDIS_URL": server.url, "LOG_LEVEL": "ERROR"})
        apps = {
            "open_no_limits": (create_app(base.replace(rate_limit_per_key=0, max_queue_depth_fast=0)), {}, SIGNUP),
            "keys_rate_depth_callback": (
                create_app(
                    base.replace(
                        api_keys=f"client:bench:{KEY}",
                        rate_limit_per_key=10**9,
                        max_queue_depth_fast=10**9,
                        callback_secret="bench-secret",
                    )
                ),
                {"Authorization": f"Bearer {KEY}"},
                {**SIGNUP, "callback_url": "https://8.8.8.8/hook"},
            ),
        }
        timings: dict[str, list[float]] = {name: [] for name in apps}
        clients = {name: app.test_client() for name, (app, _, _) in apps.items()}
        for _ in range(max(1, jobs // BLOCK)):
            for name, (app, headers, body) in apps.items():
                app.extensions["redis"].flushdb()
                for _ in range(BLOCK):
                    started = time.perf_counter()
                    response = clients[name].post("/jobs", json=body, headers=headers)
                    timings[name].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 202:
                        raise RuntimeError(f"{name}: HTTP {response.status_code} {response.json}")
    figures = {
        name: {
            "p50_ms": round(_percentile(ms, 50), 3),
            "p95_ms": round(_percentile(ms, 95), 3),
            "mean_ms": round(statistics.fmean(ms), 3),
            "requests": len(ms),
        }
        for name, ms in timings.items()
    }
    figures["p50_ratio"] = round(figures["keys_rate_depth_callback"]["p50_ms"] / figures["open_no_limits"]["p50_ms"], 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="submissions per app")
    parser.add_argument("--registry", type=Path, help="a registry folder with interests (default: train a small one)")
    args = parser.parse_args()
    if args.registry is not None:
        print(json.dumps(measure(args.jobs, args.registry), indent=2))
        return
    with tempfile.TemporaryDirectory() as root:
        train(fresh_registry(Path(root)), n_users=800, seed=0)
        print(json.dumps(measure(args.jobs, Path(root)), indent=2))


if __name__ == "__main__":
    main()
