"""What counting costs: job store transitions with their metric updates, and rendering /metrics and /scaling.

    python -m bench.metrics_cost [--jobs 2000] [--scrapes 200]

Against a private Redis: the mean time of one job's create -> start -> finish
(the three Lua scripts that also count it), then the mean time of GET /metrics
and GET /scaling through the Flask app once those jobs are recorded. To compare
with a tree whose job store counts nothing, run the same file with that tree
first on the path and --transitions-only:

    PYTHONPATH=/path/to/other/tree python bench/metrics_cost.py --transitions-only
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from jobqueue import contract
from jobqueue.connections import create_redis
from jobqueue.records import NewJob
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from tools.redis_server import RedisServer


def time_transitions(store: JobStore, jobs: int) -> float:
    """Mean milliseconds of create + start + finish for one job."""
    started = time.perf_counter()
    for i in range(jobs):
        job = NewJob(
            id=uuid.uuid4().hex,
            model="interests",
            model_version="v1",
            task="predict",
            queue=contract.Q_FAST,
            request={"records": [{}], "batch": False, "params": {}},
            total=1,
        )
        store.create(job)
        store.start(job.id)
        store.finish(job.id, contract.SUCCEEDED if i % 10 else contract.FAILED, result={"cluster": 1})
    return (time.perf_counter() - started) * 1000 / jobs


def time_endpoint(client, path: str, scrapes: int) -> float:
    """Mean milliseconds of one GET."""
    started = time.perf_counter()
    for _ in range(scrapes):
        assert client.get(path).status_code == 200
    return (time.perf_counter() - started) * 1000 / scrapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--transitions-only", action="store_true")
    args = parser.parse_args()
    with RedisServer() as server:
        settings = Settings(redis_url=server.url, log_level="WARNING")  # no request lines
        store = JobStore(create_redis(settings), ttl_s=3600)
        time_transitions(store, 100)  # warm up: scripts loaded, connections open
        figures = {"jobs": args.jobs, "transition_ms_per_job": round(time_transitions(store, args.jobs), 4)}
        if not args.transitions_only:
            from web.app import create_app

            client = create_app(settings).test_client()
            figures["metrics_ms"] = round(time_endpoint(client, "/metrics", args.scrapes), 3)
            figures["scaling_ms"] = round(time_endpoint(client, "/scaling", args.scrapes), 3)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
