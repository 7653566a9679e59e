"""Callbacks delivered by the real callbacks worker: signed, retried, given up."""

from __future__ import annotations

import json
import time
from typing import Any

from flask.testing import FlaskClient

from jobqueue.settings import Settings
from scoring_client import SIGNATURE_HEADER, verify_signature
from tests.support.data import CALLBACK_SECRET, SIGNUP
from tests.support.processes import eventually
from tests.support.servers import Receiver


def _submit(client: FlaskClient, url: str) -> dict[str, Any]:
    response = client.post("/jobs", json={**SIGNUP, "callback_url": url})
    assert response.status_code == 202, response.json
    return response.json


def _callback_when(client: FlaskClient, job_id: str, done: Any) -> dict[str, Any]:
    return eventually(
        lambda: (c := client.get(f"/jobs/{job_id}").json["callback"]) and done(c) and c,
        timeout_s=20,
        message="callback state",
    )


def test_finished_job_is_posted_to_its_callback_signed(live_client: FlaskClient) -> None:
    with Receiver() as receiver:
        job = _submit(live_client, receiver.url)
        assert job["callback"] == {
            "url": receiver.url,
            "attempts": 0,
            "last_status": None,
            "last_error": None,
            "last_attempt_at": None,
            "delivered_at": None,
        }
        state = _callback_when(live_client, job["id"], lambda c: c["delivered_at"])
    assert state["attempts"] == 1 and state["last_status"] == 200 and state["last_error"] is None
    [delivery] = receiver.deliveries
    assert verify_signature(CALLBACK_SECRET, delivery.body, delivery.headers[SIGNATURE_HEADER])
    assert not verify_signature(CALLBACK_SECRET, delivery.body + b" ", delivery.headers[SIGNATURE_HEADER])
    assert not verify_signature("another-secret", delivery.body, delivery.headers[SIGNATURE_HEADER])
    posted = json.loads(delivery.body)
    finished = live_client.get(f"/jobs/{job['id']}").json
    assert posted["id"] == job["id"] and posted["status"] == "succeeded"
    assert posted["result"] == finished["result"] and delivery.headers["X-Scoring-Job-Id"] == job["id"]


def test_a_failed_delivery_is_retried_until_the_receiver_takes_it(live_client: FlaskClient) -> None:
    with Receiver(statuses=[500]) as receiver:
        job = _submit(live_client, receiver.url)
        state = _callback_when(live_client, job["id"], lambda c: c["delivered_at"])
    assert state["attempts"] == 2 and state["last_status"] == 200
    assert [d.headers["X-Scoring-Attempt"] for d in receiver.deliveries] == ["1", "2"]
    first, retried = (json.loads(d.body) for d in receiver.deliveries)
    # The same job each time; its callback field tells the receiver what came before.
    assert retried["id"] == first["id"] and retried["result"] == first["result"]
    assert retried["callback"]["attempts"] == 1 and retried["callback"]["last_status"] == 500


def test_delivery_gives_up_after_the_configured_attempts(live_client: FlaskClient, settings: Settings) -> None:
    with Receiver(statuses=[503] * 10) as receiver:
        job = _submit(live_client, receiver.url)
        state = _callback_when(live_client, job["id"], lambda c: c["attempts"] == settings.callback_max_attempts)
        # Twice the longest backoff: a further attempt would have come by now.
        time.sleep(2 * settings.callback_backoff_max_s)
    assert len(receiver.deliveries) == settings.callback_max_attempts
    assert state["delivered_at"] is None and state["last_status"] == 503 and "503" in state["last_error"]
