"""Callbacks: the finished job is POSTed signed, retried with backoff, and only to allowed addresses."""

from __future__ import annotations

import json
import logging
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
    assert state["attempts"] == 1 and state["last_status"] is None
    assert state["last_error"].startswith("refused on connecting") and "loopback" in state["last_error"]


class FakeDns:
    """Answers for names under ``.example`` from a script, one answer per lookup; other names resolve as usual.

    The only stand-in in these tests: a name whose answer changes between two
    lookups (DNS rebinding) needs a resolver the test controls.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> None:
        self.answers = answers
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(host, str) and host.endswith(".example"):
                self.lookups.append(host)
                return real(self.answers.pop(0), port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_host_rebound_to_a_private_address_after_submit_is_refused_on_connecting(
    idle_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    strict = idle_settings.replace(callback_allow_loopback=False)
    client = create_app(strict).test_client()
    with Receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        # Public when the job is submitted; the receiver's loopback address when the callback is due.
        dns = FakeDns(monkeypatch, ["8.8.8.8", "127.0.0.1"])
        job = _submit(client, f"http://hooks.rebinding.example:{port}/hook")
        client.delete(f"/jobs/{job['id']}")
        with caplog.at_level(logging.DEBUG):
            retry_in = Runtime.create(strict).callbacks.deliver(job["id"], attempt=1)
    assert retry_in is not None and receiver.deliveries == [] and dns.answers == []
    state = client.get(f"/jobs/{job['id']}").json["callback"]
    assert "hooks.rebinding.example resolves to 127.0.0.1, which is loopback" in state["last_error"]
    # The job's owner is told; the logs never name the host or the address.
    assert "rebinding" not in caplog.text and "127.0.0.1" not in caplog.text


def test_delivery_connects_to_the_address_it_checked(
    idle_client: FlaskClient, idle_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with Receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1].split("/")[0]
        # Submit and delivery each look the name up once; a second lookup at delivery would get 10.0.0.1.
        dns = FakeDns(monkeypatch, ["127.0.0.1", "127.0.0.1", "10.0.0.1"])
        job = _submit(idle_client, f"http://hooks.pinned.example:{port}/hook?token=s3cret")
        idle_client.delete(f"/jobs/{job['id']}")
        with caplog.at_level(logging.DEBUG):
            assert Runtime.create(idle_settings).callbacks.deliver(job["id"], attempt=1) is None
    [delivery] = receiver.deliveries
    assert delivery.path == "/hook?token=s3cret" and delivery.headers["Host"] == f"hooks.pinned.example:{port}"
    assert dns.lookups == ["hooks.pinned.example"] * 2 and dns.answers == ["10.0.0.1"]
    # Even at DEBUG, the HTTP library does not log where the callback went.
    assert "s3cret" not in caplog.text and "127.0.0.1" not in caplog.text


@pytest.mark.parametrize("host", ["[::7f00:1]", "[::ffff:169.254.169.254]", "169.254.169.254", "localhost"])
def test_a_refused_callback_host_never_reaches_the_logs(
    idle_settings: Settings, caplog: pytest.LogCaptureFixture, host: str
) -> None:
    client = create_app(idle_settings.replace(callback_allow_loopback=False)).test_client()
    with caplog.at_level(logging.DEBUG):
        response = client.post("/jobs", json={**SIGNUP, "callback_url": f"http://{host}/secret-token"})
    assert response.status_code == 422
    assert host.strip("[]") in response.json["error"]["details"][0]["message"]
    assert host.strip("[]") not in caplog.text and "secret-token" not in caplog.text


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
