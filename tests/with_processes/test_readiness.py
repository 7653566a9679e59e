"""Readiness with real workers: ready when a worker consumes each queue, degraded when a model is refused."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from jobqueue.settings import Settings
from tests.support.data import registry_settings, store_at
from tests.support.processes import WorkerProcess
from web.app import create_app


def test_ready_when_broker_models_and_a_worker_per_queue_are_there(live_client: FlaskClient) -> None:
    response = live_client.get("/ready")
    assert response.status_code == 200, response.json
    assert response.json["checks"]["workers"]["queues"]["fast"]["workers"] >= 1
    assert response.json["checks"]["workers"]["queues"]["heavy"]["workers"] >= 1


def test_ready_lists_a_refused_model_while_the_others_keep_the_service_ready(
    model_copy: Path, settings: Settings, worker_process: WorkerProcess
) -> None:
    artifact = store_at(model_copy).manifest("interests").artifact_path
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    response = create_app(registry_settings(settings, model_copy)).test_client().get("/ready")
    assert response.status_code == 200 and response.json["status"] == "degraded"
    models = response.json["checks"]["models"]
    assert models["unavailable"] == ["interests"] and "sha256" in models["models"]["interests"]["message"]
    assert models["models"]["credit"]["ok"] is True and models["models"]["iris"]["ok"] is True
