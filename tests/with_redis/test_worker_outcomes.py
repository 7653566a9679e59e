"""What a worker does with a delivered job, run in-process against real Redis (the task body, minus Celery)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from jobqueue.settings import Settings
from models.interests.train import train as train_interests
from tests.support.data import SIGNUP, registry_settings, store_at
from web.app import create_app
from worker import handlers
from worker.context import JobContext
from worker.errors import JobCanceled
from worker.runner import run_job
from worker.runtime import Runtime


def test_worker_skips_a_job_canceled_while_queued(idle_client: FlaskClient, idle_settings: Settings) -> None:
    job_id = idle_client.post("/jobs", json=SIGNUP).json["id"]
    idle_client.delete(f"/jobs/{job_id}")
    assert run_job(Runtime.create(idle_settings), job_id) == "skipped"
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "canceled" and job["result"] is None and job["attempts"] == 0


def test_redelivered_finished_job_is_not_recorded_twice(idle_client: FlaskClient, idle_settings: Settings) -> None:
    job_id = idle_client.post("/jobs", json=SIGNUP).json["id"]
    runtime = Runtime.create(idle_settings)
    assert run_job(runtime, job_id) == "succeeded"
    first = idle_client.get(f"/jobs/{job_id}").json
    assert run_job(runtime, job_id) == "skipped"
    assert idle_client.get(f"/jobs/{job_id}").json == first


def test_job_whose_worker_keeps_dying_is_failed_with_a_reason(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    job_id = idle_client.post("/jobs", json=SIGNUP).json["id"]
    runtime = Runtime.create(idle_settings.replace(max_attempts=2))
    # Two deliveries that each started the job and then vanished (no finish).
    runtime.jobs.start(job_id)
    runtime.jobs.start(job_id)
    assert run_job(runtime, job_id) == "failed"
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "failed" and job["error"]["type"] == "worker_lost"
    assert "2 times" in job["error"]["message"]


def test_artifact_tampered_after_submit_fails_the_job_clearly(model_copy: Path, idle_settings: Settings) -> None:
    settings = registry_settings(idle_settings, model_copy)
    client = create_app(settings).test_client()
    job_id = client.post("/jobs", json=SIGNUP).json["id"]
    artifact = store_at(model_copy).manifest("interests").artifact_path
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    assert run_job(Runtime.create(settings), job_id) == "failed"
    error = client.get(f"/jobs/{job_id}").json["error"]
    assert error["type"] == "model_unavailable" and "sha256" in error["message"]


def test_tampered_model_is_unavailable_while_others_serve(model_copy: Path, idle_settings: Settings) -> None:
    store = store_at(model_copy)
    train_interests(store, name="interests-b", n_users=300, seed=4)
    # This host's copy is altered: the files are checked on every load, not only when they arrive.
    store.manifest("interests").artifact_path.write_bytes(b"not the artifact that was trained")

    client = create_app(registry_settings(idle_settings, model_copy)).test_client()
    models = {m["name"]: m for m in client.get("/models").json["models"]}
    assert models["interests"]["available"] is False and "sha256" in models["interests"]["unavailable_reason"]
    assert models["interests-b"]["available"] is True
    refused = client.post("/jobs", json=SIGNUP)
    assert refused.status_code == 503 and refused.json["error"]["type"] == "model_unavailable"
    assert client.get("/jobs").json["jobs"] == []
    assert client.post("/jobs", json=dict(SIGNUP, model="interests-b")).status_code == 202


TRAIN = {"model": "interests", "task": "train", "params": {"n_users": 300, "n_clusters": 3}}


def test_training_job_records_progress_per_step_before_its_version_exists(
    model_copy: Path, idle_settings: Settings
) -> None:
    settings = registry_settings(idle_settings, model_copy)
    job_id = create_app(settings).test_client().post("/jobs", json=TRAIN).json["id"]
    runtime, store = Runtime.create(settings), store_at(model_copy)
    before = store.versions("interests")
    seen = []
    record_progress = runtime.jobs.progress

    def observed(job: str, done: int, total: int) -> None:
        record_progress(job, done, total)
        seen.append((runtime.jobs.get(job)["progress_done"], total, len(store.versions("interests"))))

    runtime.jobs.progress = observed  # the real store, watched after each write
    assert run_job(runtime, job_id) == "succeeded"
    assert seen == [(1, 3, len(before)), (2, 3, len(before)), (3, 3, len(before) + 1)]
    result = runtime.jobs.get(job_id)["result"]
    assert result["version"] == store.versions("interests")[-1] and result["active"] is False
    assert store.manifest("interests", result["version"]).details["n_clusters"] == 3


def test_training_job_canceled_while_running_registers_nothing(model_copy: Path, idle_settings: Settings) -> None:
    settings = registry_settings(idle_settings, model_copy)
    client = create_app(settings).test_client()
    job_id = client.post("/jobs", json={**TRAIN, "params": {**TRAIN["params"], "activate": True}}).json["id"]
    runtime, store = Runtime.create(settings), store_at(model_copy)
    before, active = store.versions("interests"), store.active_version("interests")
    outcome = runtime.jobs.start(job_id)  # as the worker does on delivery
    assert client.delete(f"/jobs/{job_id}").json["status"] == "canceled"  # heavy jobs are interruptible
    context = JobContext(runtime, job_id, runtime.models.get("interests"), [], outcome.request["params"])
    with pytest.raises(JobCanceled):
        handlers.resolve("interests-nmf", "train")(context)
    assert store.versions("interests") == before and store.active_version("interests") == active
