"""A message popped from its queue and never recorded as delivered (a worker killed or cut off mid-BRPOP)
is found by the reaper and sent again; a message waiting in its queue is never sent twice."""

from __future__ import annotations

import json

import redis as redis_lib

from jobqueue import contract
from jobqueue.celery_client import create_celery_client
from jobqueue.messages import job_message
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from tests.support.data import SIGNUP
from web.app import create_app
from worker.broker_scan import BrokerMessages
from worker.reaper import Reaper


def _messages_for(client: redis_lib.Redis, job_id: str) -> int:
    return sum(json.loads(raw)["headers"]["id"] == job_id for raw in client.lrange(contract.Q_FAST, 0, -1))


def test_a_queued_job_whose_message_vanished_is_sent_again_and_a_waiting_one_is_not(idle_settings: Settings) -> None:
    settings = idle_settings.replace(reaper_interval_s=1, reaper_grace_s=1)
    web = create_app(settings).test_client()
    vanished, waiting = (web.post("/jobs", json=SIGNUP).json["id"] for _ in range(2))
    client = redis_lib.Redis.from_url(settings.redis_url)
    # A worker's BRPOP took the first message (the oldest, at the list's right end) and died with it.
    assert json.loads(client.rpop(contract.Q_FAST))["headers"]["id"] == vanished
    celery = create_celery_client(settings)
    reaper = Reaper(
        settings,
        JobStore.for_settings(client, settings),
        BrokerMessages(client),
        lambda task, job_id, queue: job_message(celery, task, job_id, queue),
    )
    later = client.time()[0] + settings.fast_time_limit_s + settings.reaper_grace_s + 1  # past the bound

    assert reaper.sweep(later) == {}  # first seen without a message: it may be in flight
    assert reaper.sweep(later + settings.reaper_interval_s) == {"vanished": 1}
    assert _messages_for(client, vanished) == 1 and _messages_for(client, waiting) == 1
    assert web.get(f"/jobs/{vanished}").json["status"] == "queued"
    assert reaper.sweep(later + 10 * settings.reaper_interval_s) == {}  # its new message waits: nothing more
    assert _messages_for(client, vanished) == 1 and _messages_for(client, waiting) == 1
