"""The jobs contract at the front door, against a real Redis (no worker consumes these jobs)."""

from __future__ import annotations

import json

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from tests.support.data import SIGNUP
from web.app import create_app


def _queued_messages(settings: Settings, queue: str = contract.Q_FAST) -> int:
    return redis_lib.Redis.from_url(settings.redis_url).llen(queue)


def test_accepted_job_is_recorded_queued_and_located(idle_client: FlaskClient, idle_settings: Settings) -> None:
    response = idle_client.post("/jobs", json=SIGNUP)
    assert response.status_code == 202
    job = response.json
    assert response.headers["Location"] == f"/jobs/{job['id']}" == job["links"]["self"]
    assert job["status"] == "queued" and job["model"] == "interests" and job["task"] == "predict"
    assert job["model_version"] and job["progress"] == {"done": 0, "total": 1}
    assert job["started_at"] is None and job["result"] is None and job["error"] is None
    assert job["expires_at"] > job["created_at"]
    assert idle_client.get(job["links"]["self"]).json == job
    # Fields in the contract's order, as a person reading a curl answer expects, not sorted.
    in_order = ["id", "model", "model_version", "task", "status", "progress", "created_at", "started_at"]
    assert [key for key in json.loads(response.data) if key in in_order] == in_order
    assert _queued_messages(idle_settings) == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"\xff\xfe", "text/plain"),
    ],
)
def test_body_that_is_not_a_json_object_is_400(
    idle_client: FlaskClient, idle_settings: Settings, body: bytes, content_type: str
) -> None:
    response = idle_client.post("/jobs", data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.json["error"]["type"] == "invalid_json" and response.json["error"]["message"]
    assert _queued_messages(idle_settings) == 0


def test_unknown_model_is_404_and_queues_nothing(idle_client: FlaskClient, idle_settings: Settings) -> None:
    response = idle_client.post("/jobs", json={"model": "horoscope", "input": {}})
    assert response.status_code == 404 and response.json["error"]["type"] == "unknown_model"
    assert idle_client.get("/jobs").json["jobs"] == [] and _queued_messages(idle_settings) == 0


def test_schema_violations_are_422_with_one_detail_per_field(idle_client: FlaskClient, idle_settings: Settings) -> None:
    response = idle_client.post(
        "/jobs",
        json={
            "model": "interests",
            "inputs": [
                {"interests": ["jazz"], "city": "Paris"},
                {"interests": "jazz"},
                {"interests": ["knitting"], "city": "Oslo"},
            ],
        },
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["type"] == "validation_error"
    assert [d["field"] for d in error["details"]] == ["inputs.1.interests", "inputs.1.city", "inputs.2.interests"]
    assert idle_client.get("/jobs").json["jobs"] == [] and _queued_messages(idle_settings) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "interests"}, "input"),
        ({"model": "interests", "input": {}, "inputs": [{}]}, ""),
        ({"model": "interests", "inputs": []}, "inputs"),
        ({"input": {}}, "model"),
        ({"model": "interests", "input": {}, "colour": "red"}, "colour"),
        ({"model": "interests", "task": "explain", "input": {"interests": ["jazz"], "city": "Paris"}}, "task"),
    ],
)
def test_envelope_errors_are_422(idle_client: FlaskClient, body: dict, field: str) -> None:
    response = idle_client.post("/jobs", json=body)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json["error"]["details"]]


def test_batch_over_the_configured_size_is_422(idle_settings: Settings) -> None:
    client = create_app(idle_settings.replace(max_batch_size=3)).test_client()
    response = client.post("/jobs", json={"model": "interests", "inputs": [SIGNUP["input"]] * 4})
    assert response.status_code == 422 and response.json["error"]["details"][0]["field"] == "inputs"


def test_oversized_body_is_413_in_the_error_format(idle_settings: Settings) -> None:
    client = create_app(idle_settings.replace(max_request_bytes=1024)).test_client()
    body = {"model": "interests", "inputs": [{"interests": ["jazz"] * 20, "city": "Paris"}] * 20}
    response = client.post("/jobs", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["type"] == "payload_too_large" and "1024" in response.json["error"]["message"]
    assert client.get("/jobs").json["jobs"] == []


@pytest.mark.parametrize("job_id", ["0" * 32, "not-an-id", "6f1c"])
def test_never_issued_job_is_404_not_pending(idle_client: FlaskClient, job_id: str) -> None:
    for response in (idle_client.get(f"/jobs/{job_id}"), idle_client.delete(f"/jobs/{job_id}")):
        assert response.status_code == 404 and response.json["error"]["type"] == "unknown_job"


def test_expired_job_is_404(idle_settings: Settings) -> None:
    client = create_app(idle_settings.replace(job_ttl_s=1)).test_client()
    job_id = client.post("/jobs", json=SIGNUP).json["id"]
    assert 0 < redis_lib.Redis.from_url(idle_settings.redis_url).ttl(contract.job_key(job_id)) <= 1
    redis_lib.Redis.from_url(idle_settings.redis_url).delete(contract.job_key(job_id))  # what expiry does
    assert client.get(f"/jobs/{job_id}").status_code == 404


def test_same_idempotency_key_and_body_returns_the_same_job(idle_client: FlaskClient, idle_settings: Settings) -> None:
    headers = {"Idempotency-Key": "signup-user-42"}
    first = idle_client.post("/jobs", json=SIGNUP, headers=headers)
    reordered = json.dumps({"input": {"city": "Lisbon", "interests": ["surfing", "python"]}, "model": "interests"})
    second = idle_client.post("/jobs", data=reordered, content_type="application/json", headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.json["id"] == first.json["id"] and second.headers["Idempotent-Replayed"] == "true"
    assert len(idle_client.get("/jobs").json["jobs"]) == 1 and _queued_messages(idle_settings) == 1


def test_same_idempotency_key_with_another_body_is_409(idle_client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "signup-user-43"}
    first = idle_client.post("/jobs", json=SIGNUP, headers=headers)
    other = dict(SIGNUP, input={"interests": ["jazz"], "city": "Paris"})
    response = idle_client.post("/jobs", json=other, headers=headers)
    assert response.status_code == 409 and response.json["error"]["type"] == "idempotency_conflict"
    assert first.json["id"] in response.json["error"]["message"]


def test_without_idempotency_key_each_post_is_a_new_job(idle_client: FlaskClient) -> None:
    ids = {idle_client.post("/jobs", json=SIGNUP).json["id"] for _ in range(3)}
    assert len(ids) == 3


def test_cancel_a_queued_job(idle_client: FlaskClient) -> None:
    job_id = idle_client.post("/jobs", json=SIGNUP).json["id"]
    response = idle_client.delete(f"/jobs/{job_id}")
    assert response.status_code == 200 and response.json["status"] == "canceled"
    assert response.json["finished_at"] is not None
    assert idle_client.get(f"/jobs/{job_id}").json["status"] == "canceled"
    assert idle_client.delete(f"/jobs/{job_id}").status_code == 200  # canceling twice is harmless


def test_a_job_that_runs_or_has_ended_cannot_be_canceled_and_the_409_says_why(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    store = JobStore.for_settings(redis_lib.Redis.from_url(idle_settings.redis_url), idle_settings)
    job_id = idle_client.post("/jobs", json=SIGNUP).json["id"]
    store.start(job_id)
    running = idle_client.delete(f"/jobs/{job_id}").json["error"]
    assert running["type"] == "not_cancelable" and running["message"].startswith("the job is already running; ")
    store.finish(job_id, "succeeded", {"cluster": 1})
    ended = idle_client.delete(f"/jobs/{job_id}").json["error"]["message"]
    assert ended.startswith("the job has already ended: succeeded; only queued jobs")


def test_listing_is_newest_first_filtered_and_paged(idle_client: FlaskClient) -> None:
    ids = [idle_client.post("/jobs", json=SIGNUP).json["id"] for _ in range(5)]
    idle_client.delete(f"/jobs/{ids[1]}")
    page = idle_client.get("/jobs?limit=2").json
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2]
    rest = idle_client.get(f"/jobs?limit=10&cursor={page['next_cursor']}").json
    assert [j["id"] for j in rest["jobs"]] == ids[::-1][2:] and rest["next_cursor"] is None
    assert [j["id"] for j in idle_client.get("/jobs?status=canceled").json["jobs"]] == [ids[1]]
    assert idle_client.get("/jobs?model=other").json["jobs"] == []


@pytest.mark.parametrize("query", ["status=done", "limit=0", "limit=1000", "cursor=abc", "limit=x"])
def test_bad_listing_query_is_422(idle_client: FlaskClient, query: str) -> None:
    assert idle_client.get(f"/jobs?{query}").status_code == 422


@pytest.mark.parametrize("wait", ["-1", "31", "soon"])
def test_wait_outside_0_to_30_seconds_is_422(idle_client: FlaskClient, wait: str) -> None:
    response = idle_client.post(f"/jobs?wait={wait}", json=SIGNUP)
    assert response.status_code == 422 and response.json["error"]["details"][0]["field"] == "wait"
    assert idle_client.get("/jobs").json["jobs"] == []


def test_wait_that_times_out_answers_202_with_the_queued_job(idle_client: FlaskClient) -> None:
    response = idle_client.post("/jobs?wait=0.3", json=SIGNUP)
    assert response.status_code == 202 and response.json["status"] == "queued"


def test_unknown_routes_and_methods_answer_in_the_error_format(idle_client: FlaskClient) -> None:
    missing = idle_client.get("/nowhere")
    assert missing.status_code == 404 and missing.json["error"]["type"] == "not_found"
    wrong = idle_client.put("/jobs", json=SIGNUP)
    assert wrong.status_code == 405 and wrong.json["error"]["type"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
