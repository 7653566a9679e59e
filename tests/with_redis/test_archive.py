"""The archive: every job that ends is copied to the database, and reads outlive Redis.

The session's real workers run the jobs; the archiver's own code (one batch
after another, as its process loops) copies them into a registry database of
the test's own. "Redis has forgotten a job" is done the way expiry does it:
the record is deleted outright.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import sqlalchemy as sa
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.archive import Archive
from jobqueue.archive_stream import backlog
from jobqueue.archive_tables import archived_job_customers, archived_jobs
from jobqueue.settings import Settings
from tests.support.archiving import archiver_for, drain
from tests.support.data import ACME, API_KEYS, CUSTOMER, GLOBEX, LOCAL, OPS, PREDICT, SIGNUP, bearer, registry_settings
from tests.support.processes import WorkerProcess
from tests.support.servers import Receiver
from web.app import create_app
from worker.runtime import Runtime


@pytest.fixture
def history_settings(settings: Settings, model_copy: Path, worker_process: WorkerProcess) -> Settings:
    """The session's Redis and workers, with a registry (so an archive) of this test's own."""
    return registry_settings(settings, model_copy)


def _redis(settings: Settings) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(settings.redis_url)


def _run(client: FlaskClient, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/jobs?wait=20", json=body, headers=headers or {})
    assert response.status_code == 200 and response.json["status"] == "succeeded", response.json
    job: dict[str, Any] = response.json
    return job


def _rows(settings: Settings) -> list[dict[str, Any]]:
    with Archive.for_settings(settings).engine.connect() as db:
        return [dict(row) for row in db.execute(sa.select(archived_jobs)).mappings()]


def _customers(client: FlaskClient, count: int, headers: dict[str, str] | None = None) -> list[int]:
    page = client.get(f"/customers?limit={count}", headers=headers or {}).json
    return [customer["customer_id"] for customer in page["customers"]]


def test_an_ended_job_reads_the_same_from_the_archive_once_redis_has_forgotten_it(
    history_settings: Settings,
) -> None:
    settings = history_settings.replace(api_keys=API_KEYS)
    web = create_app(settings).test_client()
    acme, globex = bearer(ACME), bearer(GLOBEX)
    batch = {"model": "interests", "inputs": [SIGNUP["input"], {"interests": ["jazz"], "city": "Paris"}]}
    jobs = [_run(web, body, acme) for body in (SIGNUP, PREDICT, LOCAL, batch)]
    failed = web.post("/jobs?wait=20", json={**PREDICT, "model_version": "0000-00-00.0"}, headers=acme)
    assert failed.status_code == 404  # refused at submit: never a job, never archived
    assert drain(settings) == len(jobs)
    client = _redis(settings)
    assert backlog(client).entries == 0
    for job in jobs:
        key = contract.job_key(job["id"])
        # Archived: the record went back to its ordinary expiry, instead of waiting out ARCHIVE_HOLD_S.
        assert 0 < client.ttl(key) <= settings.job_ttl_s
        before = web.get(f"/jobs/{job['id']}", headers=acme).json
        client.delete(key)
        assert web.get(f"/jobs/{job['id']}", headers=acme).json == before
        assert web.get(f"/jobs/{job['id']}?wait=1", headers=acme).json == before
        # Another tenant's job is still one never issued.
        assert web.get(f"/jobs/{job['id']}", headers=globex).status_code == 404
    # Archived and ended: cancelling it is the 409 it was, not a 404.
    assert web.delete(f"/jobs/{jobs[0]['id']}", headers=acme).status_code == 409


def test_a_canceled_job_and_its_later_callback_attempts_are_archived_as_they_change(
    idle_settings: Settings, model_copy: Path
) -> None:
    idle_settings = registry_settings(idle_settings, model_copy)  # an archive of its own
    web = create_app(idle_settings).test_client()
    with Receiver(statuses=[500]) as receiver:
        job = web.post("/jobs", json={**SIGNUP, "callback_url": receiver.url}).json
        assert web.delete(f"/jobs/{job['id']}").status_code == 200
        assert drain(idle_settings) == 1
        sender = Runtime.create(idle_settings).callbacks
        assert sender.deliver(job["id"], attempt=1) is not None  # 500: retried later
        assert sender.deliver(job["id"], attempt=2) is None  # delivered
    delivered = web.get(f"/jobs/{job['id']}").json
    assert delivered["status"] == "canceled" and delivered["callback"]["attempts"] == 2
    assert drain(idle_settings) == 2  # each attempt changed the record: archived again, over the first copy
    _redis(idle_settings).delete(contract.job_key(job["id"]))
    assert web.get(f"/jobs/{job['id']}").json == delivered
    assert [row["id"] for row in _rows(idle_settings) if row["id"] == job["id"]] == [job["id"]]


def test_the_history_pages_through_redis_and_the_archive_with_filters(history_settings: Settings) -> None:
    web = create_app(history_settings).test_client()
    first, second = _customers(web, 2)
    bodies = [
        SIGNUP,
        {"model": "credit", "input": {"customer_id": first}},
        SIGNUP,
        {"model": "credit", "inputs": [{"customer_id": second}, {"customer_id": first}]},
        {"model": "credit", "input": {"customer_id": second}},
    ]
    old = [_run(web, body) for body in bodies]
    drain(history_settings)
    client = _redis(history_settings)
    client.delete(*[contract.job_key(job["id"]) for job in old[:3]])  # forgotten by Redis: archive only
    new = [_run(web, body) for body in (SIGNUP, {"model": "credit", "input": {"customer_id": first}})]  # Redis only
    everything = [job["id"] for job in reversed(old + new)]

    seen, cursor = [], ""
    while True:
        page = web.get(f"/jobs?limit=2&cursor={cursor}").json
        seen += [job["id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything  # newest first, each once, across both stores

    def ids(query: str) -> list[str]:
        response = web.get(f"/jobs?limit=100&{query}")
        assert response.status_code == 200, response.json
        return [job["id"] for job in response.json["jobs"]]

    jobs = old + new
    assert ids(f"model=credit&customer_id={first}") == [jobs[i]["id"] for i in (6, 3, 1)]
    assert ids(f"customer_id={second}") == [jobs[i]["id"] for i in (4, 3)]
    assert ids(f"since={jobs[2]['created_at']}&until={jobs[6]['created_at']}") == [jobs[i]["id"] for i in (5, 4, 3, 2)]
    assert ids("model=interests&status=succeeded") == [jobs[i]["id"] for i in (5, 2, 0)]
    assert ids("status=failed") == []
    for bad in ("since=yesterday", "customer_id=0", "customer_id=12a"):
        assert web.get(f"/jobs?{bad}").status_code == 422


def test_archiving_is_idempotent_and_an_archivers_unacknowledged_batch_is_taken_over(
    history_settings: Settings,
) -> None:
    web = create_app(history_settings).test_client()
    jobs = [_run(web, SIGNUP) for _ in range(3)]
    dead = archiver_for(history_settings, consumer="dead")
    entries = dead.stream.read(10, 0)
    dead.archive.store([r for r in dead.stream.records(entries).values() if r])  # committed, then it "died"
    client = _redis(history_settings)
    assert backlog(client).entries == 3 and len(_rows(history_settings)) == 3
    heir = archiver_for(history_settings, consumer="heir", claim_idle_ms=0)
    assert drain(history_settings, heir) == 3
    assert backlog(client).entries == 0
    assert sorted(row["id"] for row in _rows(history_settings)) == sorted(job["id"] for job in jobs)
    # Redis lost the stream and its group (a flush): the next job's entry makes a stream without a group,
    # and the archiver makes the group again, from that stream's first entry.
    client.delete(contract.ARCHIVE_STREAM)
    late = _run(web, SIGNUP)
    assert drain(history_settings, heir) == 1 and late["id"] in {row["id"] for row in _rows(history_settings)}


def test_erasing_a_customer_keeps_the_decisions_and_nothing_that_names_them(history_settings: Settings) -> None:
    settings = history_settings.replace(api_keys=API_KEYS)
    web = create_app(settings).test_client()
    ops, acme = bearer(OPS), bearer(ACME)
    other = next(c for c in _customers(web, 2, acme) if c != CUSTOMER)
    archived = [_run(web, body, acme) for body in (PREDICT, LOCAL)]
    kept = _run(web, {"model": "credit", "input": {"customer_id": other}}, acme)
    drain(settings)
    unarchived = _run(web, PREDICT, acme)  # ended, still waiting for the archiver
    assert web.delete(f"/customers/{CUSTOMER}/jobs", headers=acme).status_code == 403

    answer = web.delete(f"/customers/{CUSTOMER}/jobs", headers=ops)
    assert answer.status_code == 200, answer.json
    assert (answer.json["archive_rows"], answer.json["redis_records"], answer.json["pending"]) == (2, 3, 0)
    later = _run(web, PREDICT, acme)  # created after the erasure: kept whole
    drain(settings)
    rows = {row["id"]: row for row in _rows(settings)}
    for job in (*archived, unarchived):
        row = rows[job["id"]]
        assert row["request"] is None and row["erased_at"] is not None
        assert (row["model"], row["task"], row["status"]) == ("credit", job["task"], "succeeded")
        view = web.get(f"/jobs/{job['id']}", headers=acme).json
        assert "customer_id" not in json.dumps(view) and "top_reasons" not in json.dumps(view)
        assert b"request" not in _redis(settings).hgetall(contract.job_key(job["id"]))
        assert view["result"]["probability"] == job["result"]["probability"]  # the decision statistics stay
    assert rows[archived[0]["id"]]["outcome"] == json.dumps(archived[0]["result"], separators=(",", ":"))
    assert rows[kept["id"]]["erased_at"] is None and rows[later["id"]]["erased_at"] is None
    assert json.loads(rows[later["id"]]["request"])["records"] == [{"customer_id": CUSTOMER, "features": None}]
    assert [job["id"] for job in web.get(f"/jobs?customer_id={CUSTOMER}", headers=acme).json["jobs"]] == [later["id"]]
    with Archive.for_settings(settings).engine.connect() as db:
        linked = db.execute(sa.select(archived_job_customers.c.job_id)).scalars().all()
    assert sorted(linked) == sorted([kept["id"], later["id"]])


def test_erasing_a_signup_by_its_job_id(history_settings: Settings) -> None:
    web = create_app(history_settings).test_client()
    signup = _run(web, {"model": "interests", "input": {"interests": ["jazz", "woodworking"], "city": "Porto"}})
    assert signup["result"]["unknown_interests"] == ["woodworking"]
    drain(history_settings)
    answer = web.delete(f"/jobs/{signup['id']}/inputs").json
    assert (answer["archive_rows"], answer["redis_records"], answer["pending"]) == (1, 1, 0)
    for view in (web.get(f"/jobs/{signup['id']}").json, Archive.for_settings(history_settings).get(signup["id"])):
        assert view is not None and view["result"] == {"cluster": signup["result"]["cluster"]}
    assert web.delete(f"/jobs/{'0' * 32}/inputs").status_code == 404


def test_jobs_past_the_retention_leave_the_archive(history_settings: Settings) -> None:
    web = create_app(history_settings).test_client()
    job = _run(web, SIGNUP)
    archiver = archiver_for(history_settings.replace(archive_retention_days=30))
    drain(history_settings, archiver)
    _redis(history_settings).delete(contract.job_key(job["id"]))
    archiver.housekeeping(now=time.time())
    assert web.get(f"/jobs/{job['id']}").status_code == 200
    archiver.housekeeping(now=time.time() + 31 * 86400 + 3600)  # the next hourly prune, a month on
    assert web.get(f"/jobs/{job['id']}").status_code == 404
    assert _rows(history_settings) == []


def test_a_job_erased_before_it_ends_keeps_its_input_to_run_and_is_erased_when_archived(
    idle_settings: Settings, model_copy: Path
) -> None:
    idle_settings = registry_settings(idle_settings, model_copy)  # no worker: the job stays queued
    web = create_app(idle_settings).test_client()
    job = web.post("/jobs", json=SIGNUP).json
    answer = web.delete(f"/jobs/{job['id']}/inputs").json
    assert (answer["archive_rows"], answer["redis_records"], answer["pending"]) == (0, 0, 1)
    assert b"request" in _redis(idle_settings).hgetall(contract.job_key(job["id"]))  # a worker still needs it
    assert web.delete(f"/jobs/{job['id']}").status_code == 200  # it ends (canceled), then is archived
    drain(idle_settings)
    [row] = _rows(idle_settings)
    assert row["request"] is None and row["erased_at"] is not None and row["status"] == "canceled"
    assert b"request" not in _redis(idle_settings).hgetall(contract.job_key(job["id"]))  # and in Redis
