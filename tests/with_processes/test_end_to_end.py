"""POST -> real Celery worker process -> GET: the signup flow as the mobile app sees it."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.data import SIGNUP
from tests.support.processes import eventually


def test_signup_is_clustered_by_the_worker_and_waited_for(live_client: FlaskClient) -> None:
    response = live_client.post("/jobs?wait=20", json=SIGNUP)
    assert response.status_code == 200, response.json
    job = response.json
    assert job["status"] == "succeeded" and job["attempts"] == 1
    assert job["progress"] == {"done": 1, "total": 1}
    result = job["result"]
    assert result["cluster"] >= 1 and result["room"] == f"lisbon-{result['cluster']}"
    assert result["unknown_interests"] == []
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]


def test_polling_sees_the_job_finish(live_client: FlaskClient) -> None:
    accepted = live_client.post("/jobs", json=SIGNUP)
    assert accepted.status_code == 202
    location = accepted.headers["Location"]
    done = eventually(
        lambda: (r := live_client.get(location).json)["status"] == "succeeded" and r, message="job succeeded"
    )
    assert done["result"]["room"].startswith("lisbon-")


def test_get_with_wait_returns_when_the_job_ends(live_client: FlaskClient) -> None:
    job_id = live_client.post("/jobs", json=SIGNUP).json["id"]
    job = live_client.get(f"/jobs/{job_id}?wait=20").json
    assert job["status"] == "succeeded"


def test_batch_results_come_back_in_request_order(live_client: FlaskClient) -> None:
    cities = ["Lisbon", "Porto", "Paris", "Berlin", "Madrid", "London", "Kraków", "São Paulo"]
    hobbies = [["surfing"], ["python"], ["painting"], ["cooking"]]
    inputs = [{"interests": hobbies[i % 4], "city": city} for i, city in enumerate(cities)]
    job = live_client.post("/jobs?wait=20", json={"model": "interests", "inputs": inputs}).json
    assert job["status"] == "succeeded" and job["progress"] == {"done": 8, "total": 8}
    slugs = ["lisbon", "porto", "paris", "berlin", "madrid", "london", "krakow", "sao-paulo"]
    assert [r["room"].rsplit("-", 1)[0] for r in job["result"]] == slugs
    # Users with the same interests share a cluster, wherever they live.
    singles = [
        live_client.post("/jobs?wait=20", json={"model": "interests", "input": i}).json["result"] for i in inputs[:4]
    ]
    assert [r["cluster"] for r in job["result"]] == [s["cluster"] for s in singles] * 2


def test_cancel_after_the_job_ran_is_409(live_client: FlaskClient) -> None:
    job = live_client.post("/jobs?wait=20", json=SIGNUP).json
    assert job["status"] == "succeeded"
    response = live_client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 409 and response.json["error"]["type"] == "not_cancelable"
    assert live_client.get(f"/jobs/{job['id']}").json["status"] == "succeeded"


def test_idempotent_retry_after_completion_returns_the_finished_job(live_client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "signup-retry"}
    first = live_client.post("/jobs?wait=20", json=SIGNUP, headers=headers).json
    retry = live_client.post("/jobs?wait=20", json=SIGNUP, headers=headers)
    assert retry.status_code == 200 and retry.json["id"] == first["id"]
    assert retry.json["result"] == first["result"] and retry.json["attempts"] == 1
    assert len(live_client.get("/jobs").json["jobs"]) == 1
