"""The web queues jobs by writing Celery messages itself; they must be exactly what kombu would write."""

from __future__ import annotations

import base64
import json

import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.celery_client import create_celery_client
from jobqueue.messages import job_message
from jobqueue.settings import Settings
from tests.support.data import SIGNUP


def _shape(value: object) -> object:
    """Keys and types all the way down, values only where they are constants of the format."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def test_prebuilt_message_matches_what_kombu_publishes(idle_settings: Settings) -> None:
    app = create_celery_client(idle_settings)
    client = redis_lib.Redis.from_url(idle_settings.redis_url)
    app.send_task(contract.PREDICT, kwargs={"job_id": "a" * 32}, task_id="a" * 32, queue=contract.Q_FAST, retry=False)
    published = json.loads(client.rpop(contract.Q_FAST))
    ours = json.loads(job_message(app, contract.PREDICT, "a" * 32, contract.Q_FAST))
    assert _shape(ours) == _shape(published)
    for volatile in ("delivery_tag", "reply_to"):
        published["properties"].pop(volatile), ours["properties"].pop(volatile)
    published["headers"].pop("origin"), ours["headers"].pop("origin")
    assert ours == published


def test_each_message_carries_its_own_job_and_delivery_tag(idle_settings: Settings) -> None:
    app = create_celery_client(idle_settings)
    first, second = (json.loads(job_message(app, contract.PREDICT, i * 32, contract.Q_FAST)) for i in "bc")
    assert first["headers"]["id"] == "b" * 32 and second["headers"]["id"] == "c" * 32
    assert json.loads(base64.b64decode(second["body"]))[1] == {"job_id": "c" * 32}
    assert first["properties"]["delivery_tag"] != second["properties"]["delivery_tag"]


def test_accepted_job_and_its_message_are_written_together(idle_client: FlaskClient, idle_settings: Settings) -> None:
    job = idle_client.post("/jobs", json=SIGNUP).json
    [raw] = redis_lib.Redis.from_url(idle_settings.redis_url).lrange(contract.Q_FAST, 0, -1)
    message = json.loads(raw)
    assert message["headers"]["id"] == job["id"] and message["headers"]["task"] == contract.PREDICT
    assert message["properties"]["delivery_info"]["routing_key"] == contract.Q_FAST
