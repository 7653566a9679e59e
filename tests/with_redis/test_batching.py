"""Predict jobs waiting together are scored together, without weakening any per-job guarantee."""

from __future__ import annotations

from pathlib import Path

import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.records import NewJob
from jobqueue.settings import Settings
from models.store import ModelStore
from tests.support.data import SIGNUP, registry_settings
from tests.support.redis_monitor import commands_sent
from tools.redis_server import RedisServer
from web.app import create_app
from worker.batch_runner import run_batch
from worker.runtime import Runtime


def test_one_bad_job_does_not_fail_its_batch_neighbours(idle_client: FlaskClient, idle_settings: Settings) -> None:
    runtime = Runtime.create(idle_settings)
    good = [idle_client.post("/jobs", json=SIGNUP).json["id"] for _ in range(2)]
    version = ModelStore.for_settings(idle_settings).active_version("interests")
    # A record that slipped past validation (e.g. written by an older web) breaks the model call.
    runtime.jobs.create(
        NewJob(
            id="b" * 32,
            model="interests",
            model_version=version,
            task="predict",
            queue=contract.Q_FAST,
            total=1,
            request={"records": [{"interests": ["jazz"]}], "batch": False, "params": {}},
        )
    )
    recorded = run_batch(runtime, [good[0], "b" * 32, good[1]])
    assert recorded == {good[0]: True, "b" * 32: True, good[1]: True}
    statuses = {i: idle_client.get(f"/jobs/{i}").json for i in [*good, "b" * 32]}
    assert [statuses[i]["status"] for i in good] == ["succeeded", "succeeded"]
    assert statuses["b" * 32]["status"] == "failed"
    assert statuses["b" * 32]["error"]["type"] == "internal_error"


def test_batch_asks_for_redelivery_when_outcomes_cannot_be_recorded(model_dir: Path, tmp_path: Path) -> None:
    with RedisServer(data_dir=tmp_path / "redis") as server:
        settings = registry_settings(Settings(redis_url=server.url), model_dir)
        client = create_app(settings).test_client()
        ids = [client.post("/jobs", json=SIGNUP).json["id"] for _ in range(3)]
        runtime = Runtime.create(settings)
        server.stop()
        assert run_batch(runtime, ids) == dict.fromkeys(ids, False)


def test_a_batch_starts_and_finishes_in_one_round_trip_each_even_after_redis_loses_its_scripts(
    model_dir: Path, tmp_path: Path
) -> None:
    with RedisServer(data_dir=tmp_path / "redis") as server:
        settings = registry_settings(Settings(redis_url=server.url), model_dir)
        client = create_app(settings).test_client()
        runtime = Runtime.create(settings)
        assert run_batch(runtime, [client.post("/jobs", json=SIGNUP).json["id"]])  # the model is loaded
        ids = [client.post("/jobs", json=SIGNUP).json["id"] for _ in range(3)]
        with commands_sent(server.url) as sent:
            assert run_batch(runtime, ids) == dict.fromkeys(ids, True)
        # Three starts pipelined, three finishes pipelined: no SCRIPT EXISTS before either.
        assert sent == ["EVALSHA"] * 6
        ids = [client.post("/jobs", json=SIGNUP).json["id"] for _ in range(3)]
        redis_lib.Redis.from_url(server.url).script_flush()  # what a Redis restart does to loaded scripts
        with commands_sent(server.url) as sent:
            assert run_batch(runtime, ids) == dict.fromkeys(ids, True)
        # Each pipeline is refused whole, then run again once its script is loaded.
        assert sent == (["EVALSHA"] * 3 + ["SCRIPT"] + ["EVALSHA"] * 3) * 2
        jobs = [client.get(f"/jobs/{i}").json for i in ids]
        # Each refused call ran once after the reload: one attempt each, no second finish.
        assert [(j["status"], j["attempts"]) for j in jobs] == [("succeeded", 1)] * 3
