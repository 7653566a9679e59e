"""A lost Redis turns into a quick 503 that accepts nothing, and the service recovers by itself."""

from __future__ import annotations

import time
from pathlib import Path

import redis as redis_lib

from jobqueue.settings import Settings
from tests.support.data import SIGNUP, registry_settings
from tools.redis_server import RedisServer
from web.app import create_app


def test_redis_down_at_submit_is_503_fast_and_accepts_nothing(model_dir: Path, tmp_path: Path) -> None:
    with RedisServer(data_dir=tmp_path / "redis", appendonly=True) as server:
        settings = registry_settings(Settings(redis_url=server.url), model_dir)
        client = create_app(settings).test_client()
        assert client.post("/jobs", json=SIGNUP).status_code == 202
        server.stop()  # keeps the data dir it was given; the app keeps its connection pool
        started = time.monotonic()
        response = client.post("/jobs", json=SIGNUP, headers={"Idempotency-Key": "during-outage"})
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.json
        assert response.json["error"]["type"] == "broker_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        assert elapsed < 2.0, f"503 took {elapsed:.2f}s"
        assert client.get("/ready").status_code == 503

        server.start()
        jobs = client.get("/jobs").json["jobs"]
        assert len(jobs) == 1, "the rejected request left a job behind"
        # Back up: the same client recovers without a restart, and the key was never used.
        again = client.post("/jobs", json=SIGNUP, headers={"Idempotency-Key": "during-outage"})
        assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
        assert redis_lib.Redis.from_url(server.url).llen("fast") == 2
