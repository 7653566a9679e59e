"""Micro-batching in a real worker: waiting jobs are scored together, each with its own correct result."""

from __future__ import annotations

import re
from pathlib import Path

from jobqueue import contract
from jobqueue.settings import Settings
from models.interests.predict import predict
from models.loader import ModelLoader
from models.store import ModelStore
from tests.support.processes import WorkerProcess, eventually
from web.app import create_app


def _signups(n: int) -> list[dict]:
    cities = ["Lisbon", "Paris", "Berlin", "Madrid"]
    hobbies = [["surfing", "hiking"], ["python", "chess"], ["jazz", "museums"], ["wine", "cooking"]]
    return [{"interests": hobbies[i % 4], "city": cities[i % 3]} for i in range(n)]


def test_waiting_jobs_are_scored_in_batches_with_correct_results(settings: Settings, tmp_path: Path) -> None:
    batch_settings = settings.replace(redis_url=settings.redis_url.rsplit("/", 1)[0] + "/3")
    client = create_app(batch_settings).test_client()
    records = _signups(40)
    ids = [client.post("/jobs", json={"model": "interests", "input": r}).json["id"] for r in records]
    log = tmp_path / "worker.log"
    worker = WorkerProcess(batch_settings, role=contract.Q_FAST, concurrency=1, prefetch=64, log_path=log)
    try:
        worker.wait_ready()

        def all_succeeded() -> list[dict] | None:
            jobs = [client.get(f"/jobs/{i}").json for i in ids]
            return jobs if all(j["status"] == "succeeded" for j in jobs) else None

        jobs = eventually(all_succeeded, message="all jobs succeeded")
    finally:
        worker.stop()
    expected = predict(ModelLoader(ModelStore.for_settings(settings)).get("interests"), records, {})
    assert [j["result"] for j in jobs] == expected
    assert all(j["attempts"] == 1 for j in jobs)
    sizes = [int(n) for n in re.findall(r"scored a batch of (\d+) jobs", log.read_text())]
    assert sum(sizes) == 40 and max(sizes) > 1, sizes
