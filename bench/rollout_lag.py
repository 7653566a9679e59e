"""How long a rollout takes to reach another host: activate through one web host, time another's next job.

    python -m bench.rollout_lag [--rounds 10]

Two web apps share one registry (a SQLite file, as under ``make run``; the
same code reads PostgreSQL) and a private Redis, each with a cache folder of
its own, so nothing one writes to disk is what the other reads. Each round
activates the other of two iris versions through web A (``PUT
/models/iris/active``, at once on A), then submits iris jobs to web B every
10 ms until B records the new version in one: that interval is what a client
of B waits at most for a rollout made on A. B notices within
``REGISTRY_POLL_S`` (1 s by default) and copies the version's files into its
cache before it switches.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.registry import fresh_registry, registry_env
from jobqueue.settings import Settings
from models.iris.train import train as train_iris
from tools.redis_server import RedisServer
from web.app import create_app

FLOWER = {"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.6, "petal_width": 1.5}


def measure(root: Path, rounds: int) -> dict[str, object]:
    store = fresh_registry(root)
    versions = [train_iris(store, estimator="logreg", seed=seed, activate=seed == 0).version for seed in (0, 1)]
    redis = RedisServer()
    redis.start()
    try:
        settings = Settings.from_env({**registry_env(root), "REDIS_URL": redis.url, "LOG_LEVEL": "ERROR"})
        web_a = create_app(settings.replace(model_dir=root / "host-a")).test_client()
        web_b = create_app(settings.replace(model_dir=root / "host-b")).test_client()
        lags, pace = [], random.Random(0)
        for round_ in range(1, rounds + 1):
            target = versions[round_ % 2]
            time.sleep(pace.uniform(0, 1))  # so rounds start at different points of B's polling cycle
            started = time.perf_counter()
            assert web_a.put("/models/iris/active", json={"version": target}).status_code == 200
            while web_b.post("/jobs", json={"model": "iris", "input": FLOWER}).json["model_version"] != target:
                if time.perf_counter() - started > 30:
                    raise SystemExit(f"web B never served {target}")
                time.sleep(0.01)
            lags.append(time.perf_counter() - started)
        return {
            "registry_poll_s": settings.registry_poll_s,
            "rounds": rounds,
            "lag_s_median": round(statistics.median(lags), 3),
            "lag_s_max": round(max(lags), 3),
            "lag_s": [round(lag, 3) for lag in lags],
        }
    finally:
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        print(json.dumps(measure(Path(tmp), args.rounds), indent=2))


if __name__ == "__main__":
    main()
