"""Measure what REDIS_SOCKET_TIMEOUT_S must allow, and how fast POST /jobs answers 503 when Redis is lost.

    python -m bench.redis_timeouts [--repeat 10]

Against a private, append-only Redis (as in production) and the Flask test client:

- busy: how long Redis itself runs the create script of a 10,000-record batch
  (the signup batch of the issue, 0.6 MB, and one of credit feature records
  near the 2 MiB body limit), and the finish script of 10,000 local credit
  explanations (the largest write a worker makes, 17 MB), from Redis's
  SLOWLOG: the time any other client's command may wait behind them;
- lost: the seconds until POST /jobs answers 503 when Redis is frozen
  (SIGSTOP: connections are accepted, nothing answers), when its port drops
  connection attempts (a listener whose backlog is full, as a firewall that
  drops packets), and when the connection is refused (stopped).

Prints one JSON document; the settings' defaults are used throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.registry import fresh_registry, registry_env
from jobqueue import contract
from jobqueue.records import NewJob
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from models.credit.train import train as train_credit
from models.interests.train import train as train_interests
from models.store import ModelStore
from tools.dropping_port import dropping_port
from tools.redis_server import RedisServer
from web.app import create_app

SIGNUP = {"interests": ["surfing", "python", "jazz"], "city": "Lisbon"}
BATCH = 10_000


def _slowest_script_ms(client: redis.Redis) -> float:
    """The longest EVALSHA in Redis's slow log, in ms (the log records every command here)."""
    return max(e["duration"] for e in client.slowlog_get(1000) if e["command"].startswith(b"EVALSHA")) / 1000


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def busy(server: RedisServer, registry: Settings, repeat: int) -> dict[str, Any]:
    """Redis-side milliseconds of the largest scripts the service runs."""
    settings = registry.replace(redis_url=server.url, log_level="ERROR", max_queue_depth_fast=0)
    client = redis.Redis.from_url(server.url)
    client.config_set("slowlog-log-slower-than", 0)
    client.config_set("slowlog-max-len", 1000)
    web = create_app(settings).test_client()
    described = ModelStore.for_settings(settings).manifest("credit").details["features"]
    features = [f["name"] for f in described]
    # As many numeric features per record as keep 10,000 records under the body limit.
    wide: dict[str, float] = {}
    for name in (f["name"] for f in described if f["type"] == "numeric"):
        record = {**wide, name: 123456.789}
        if len(json.dumps({"model": "credit", "inputs": [{"features": record}] * BATCH})) > settings.max_request_bytes:
            break
        wide = record
    bodies = {
        "create_10000_signups": {"model": "interests", "inputs": [SIGNUP] * BATCH},
        "create_10000_credit_records": {"model": "credit", "inputs": [{"features": wide}] * BATCH},
    }
    figures: dict[str, Any] = {}
    for name, body in bodies.items():
        text = json.dumps(body)
        timings = []
        for _ in range(repeat):
            client.flushdb()
            client.slowlog_reset()
            response = web.post("/jobs", data=text, content_type="application/json")
            if response.status_code != 202:
                raise RuntimeError(f"{name}: HTTP {response.status_code} {response.json}")
            timings.append(_slowest_script_ms(client))
        figures[name] = {"body_bytes": len(text), "redis_ms": _summary(timings)}
    store = JobStore.for_settings(client, settings)
    timings, size = [], 0
    for attempt in range(repeat):
        job_id = f"{attempt:032x}"
        records = [{"customer_id": 100002 + i} for i in range(BATCH)]
        request = {"records": records, "batch": True, "params": {"scope": "local", "top": 5}}
        store.create(NewJob(job_id, "credit", "v", "explain", contract.Q_HEAVY, request, BATCH, message="m"))
        store.start(job_id)
        result = [
            {
                "customer_id": 100002 + i,
                "base_value": -2.1,
                "contributions": {name: random.random() for name in features},
                "probability": 0.2,
                "top_reasons": [
                    {"feature": name, "value": 1.5, "contribution": 0.1, "effect": "raises_risk"}
                    for name in features[:5]
                ],
            }
            for i in range(BATCH)
        ]
        size = len(json.dumps(result))
        client.slowlog_reset()
        store.finish(job_id, contract.SUCCEEDED, result=result)
        timings.append(_slowest_script_ms(client))
    figures["finish_10000_local_explanations"] = {"result_bytes": size, "redis_ms": _summary(timings)}
    return figures


def _time_503(settings: Settings, repeat: int, before: Any = None) -> list[float]:
    web = create_app(settings).test_client()
    body = {"model": "interests", "input": SIGNUP}
    if before is not None:
        assert web.post("/jobs", json=body).status_code == 202  # a pooled connection, as a running web has
        before()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = web.post("/jobs", json=body)
        timings.append(time.perf_counter() - started)
        if response.status_code != 503:
            raise RuntimeError(f"expected 503, got {response.status_code}")
    return timings


def lost(registry: Settings, repeat: int) -> dict[str, Any]:
    """Seconds until POST /jobs answers 503, per way of losing Redis."""
    figures: dict[str, Any] = {}
    with RedisServer() as server:
        settings = registry.replace(redis_url=server.url, log_level="CRITICAL")
        pid = redis.Redis.from_url(server.url).info("server")["process_id"]
        try:
            figures["frozen_sigstop_s"] = _summary(_time_503(settings, repeat, lambda: os.kill(pid, signal.SIGSTOP)))
        finally:
            os.kill(pid, signal.SIGCONT)
        figures["refused_s"] = _summary(_time_503(settings, repeat, server.stop))
    with dropping_port() as port:
        settings = registry.replace(redis_url=f"redis://127.0.0.1:{port}/0", log_level="CRITICAL")
        figures["connect_dropped_s"] = _summary(_time_503(settings, repeat))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="measurements of each figure")
    args = parser.parse_args()
    defaults = Settings()
    with tempfile.TemporaryDirectory() as root:
        store = fresh_registry(Path(root) / "models")
        registry = Settings.from_env(registry_env(Path(root) / "models"))
        train_interests(store, n_users=800, seed=0)
        train_credit(store, n_customers=2000, seed=0, max_iter=30)
        with RedisServer(data_dir=Path(root) / "redis", appendonly=True) as server:
            figures = {"busy": busy(server, registry, args.repeat)}
        figures["lost"] = lost(registry, args.repeat)
    figures["settings"] = {
        "REDIS_CONNECT_TIMEOUT_S": defaults.redis_connect_timeout_s,
        "REDIS_SOCKET_TIMEOUT_S": defaults.redis_socket_timeout_s,
        "WORKER_REDIS_SOCKET_TIMEOUT_S": defaults.worker_redis_socket_timeout_s,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
