"""Callbacks: the finished job is POSTed signed, retried with backoff, and only to allowed addresses."""

from __future__ import annotations

import json
import signal
import socket
import threading
from typing import Any

import pytest
import redis as redis_lib
from billiard.exceptions import SoftTimeLimitExceeded
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.support.data import SIGNUP
from tests.support.servers import Receiver
from web.app import create_app
from worker.runtime import Runtime


def _submit(client: FlaskClient, url: str) -> dict[str, Any]:
    response = client.post("/jobs", json={**SIGNUP, "callback_url": url})
    assert response.status_code == 202, response.json
    return response.json


def test_canceling_a_job_posts_it_too(idle_client: FlaskClient, idle_settings: Settings) -> None:
    with Receiver() as receiver:
        job = _submit(idle_client, receiver.url)
        assert idle_client.delete(f"/jobs/{job['id']}").status_code == 200
        # No worker consumes this database: make the queued delivery in-process.
        assert redis_lib.Redis.from_url(idle_settings.redis_url).llen(contract.Q_CALLBACKS) == 1
        sender = Runtime.create(idle_settings).callbacks
        assert sender.deliver(job["id"], attempt=1) is None
        assert sender.deliver(job["id"], attempt=1) is None  # a duplicate message posts nothing
    [delivery] = receiver.deliveries
    assert json.loads(delivery.body)["status"] == "canceled"


def test_delivery_checks_the_address_again(idle_client: FlaskClient, idle_settings: Settings) -> None:
    with Receiver() as receiver:
        job = _submit(idle_client, receiver.url)  # loopback was allowed when it was submitted
        idle_client.delete(f"/jobs/{job['id']}")
        strict = Runtime.create(idle_settings.replace(callback_allow_loopback=False)).callbacks
        retry_in = strict.deliver(job["id"], attempt=1)
    assert retry_in is not None and receiver.deliveries == []
    state = idle_client.get(f"/jobs/{job['id']}").json["callback"]
    assert state["attempts"] == 1 and state["last_status"] is None and "may not reach" in state["last_error"]


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://203.0.113.9/hook",
        "file:///etc/passwd",
        "not a url",
        "http://name.invalid/hook",
    ],
)
def test_callback_urls_that_are_not_public_http_are_refused_at_submit(idle_settings: Settings, url: str) -> None:
    client = create_app(idle_settings.replace(callback_allow_loopback=False)).test_client()
    response = client.post("/jobs", json={**SIGNUP, "callback_url": url})
    assert response.status_code == 422
    assert [d["field"] for d in response.json["error"]["details"]] == ["callback_url"]
    assert client.get("/jobs").json["jobs"] == []
    assert redis_lib.Redis.from_url(idle_settings.redis_url).llen(contract.Q_FAST) == 0


def test_a_public_address_is_accepted(idle_settings: Settings) -> None:
    client = create_app(idle_settings.replace(callback_allow_loopback=False)).test_client()
    assert client.post("/jobs", json={**SIGNUP, "callback_url": "https://8.8.8.8/hook"}).status_code == 202


def test_callbacks_are_refused_without_a_secret_to_sign_them(idle_settings: Settings) -> None:
    client = create_app(idle_settings.replace(callback_secret="")).test_client()
    response = client.post("/jobs", json={**SIGNUP, "callback_url": "https://8.8.8.8/hook"})
    assert response.status_code == 422 and "CALLBACK_SECRET" in response.json["error"]["details"][0]["message"]


def test_a_receiver_that_trickles_its_answer_is_cut_off_and_retried(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            while not stop.wait(0.05):  # one byte at a time: no socket timeout ever fires
                connection.sendall(b"H")

    threading.Thread(target=trickle, daemon=True).start()
    job = _submit(idle_client, f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    idle_client.delete(f"/jobs/{job['id']}")

    def time_limit(*_: object) -> None:
        raise SoftTimeLimitExceeded()  # what the worker's soft time limit raises in the task

    previous = signal.signal(signal.SIGALRM, time_limit)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        retry_in = Runtime.create(idle_settings).callbacks.deliver(job["id"], attempt=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        stop.set()
        listener.close()
    assert retry_in is not None
    state = idle_client.get(f"/jobs/{job['id']}").json["callback"]
    assert state["attempts"] == 1 and state["last_error"] == "the receiver took too long to answer"
