"""Model lifecycle with the real worker: rollout and rollback, pinned versions, CSV models, training jobs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from jobqueue.celery_client import create_celery_client
from jobqueue.settings import Settings
from models.iris.train import train as train_iris
from models.loader import ModelLoader
from models.store import ModelStore
from models.tabular import predict as tabular_predict
from models.tabular.train_csv import main as train_csv
from tests.support.data import store_at, write_clinic_table
from tests.support.processes import WorkerProcess
from web.app import create_app

FLOWER = {"SepalLengthCm": 6.0, "SepalWidthCm": 2.9, "PetalLengthCm": 4.6, "PetalWidthCm": 1.5}
IRIS = {"model": "iris", "input": FLOWER}


@dataclass
class Lifecycle:
    store: ModelStore
    worker: WorkerProcess
    settings: Settings
    first: str  # two iris versions whose answers differ
    second: str

    def client(self) -> FlaskClient:
        return create_app(self.settings).test_client()

    def expected(self, version: str) -> dict[str, Any]:
        """What ``version`` answers for FLOWER, computed here without the service."""
        model = ModelLoader(self.store).get("iris", version)
        [(species, probabilities)] = tabular_predict.classify(
            model, [{"sepal_length": 6.0, "sepal_width": 2.9, "petal_length": 4.6, "petal_width": 1.5}]
        )
        return {"species": species, "probabilities": probabilities}


@pytest.fixture(scope="module")
def lifecycle(settings: Settings, model_dir: Path, worker_process: WorkerProcess) -> Iterator[Lifecycle]:
    """The session's worker and store, with a second iris version registered but not active.

    Every test sets the active iris version it starts from; the module puts the
    original one back and removes every version and model it created, so the
    rest of the session sees the store as it was.
    """
    store = store_at(model_dir)
    before = {name: set(store.versions(name)) for name in store.names()}
    first = store.active_version("iris")
    second = train_iris(store, estimator="logreg", seed=1, activate=False).version
    yield Lifecycle(store, worker_process, settings, first, second)
    store.activate("iris", first)
    store.registry.remove(
        [(name, version) for name in store.names() for version in set(store.versions(name)) - before.get(name, set())]
    )
    store.cache.retain(store.snapshot().pairs())
    assert {name: set(store.versions(name)) for name in store.names()} == before


def _finished(client: FlaskClient, job: dict[str, Any]) -> dict[str, Any]:
    done = client.get(f"/jobs/{job['id']}?wait=20").json
    assert done["status"] == "succeeded", done
    return done


def test_activation_reaches_the_running_worker_while_queued_and_pinned_jobs_keep_their_version(
    lifecycle: Lifecycle,
) -> None:
    client, first, second = lifecycle.client(), lifecycle.first, lifecycle.second
    assert client.put("/models/iris/active", json={"version": first}).status_code == 200
    answers = {first: lifecycle.expected(first), second: lifecycle.expected(second)}
    assert answers[first] != answers[second]
    warm = client.post("/jobs?wait=20", json=IRIS).json
    assert (warm["model_version"], warm["result"]) == (first, answers[first])

    # Hold the fast queue so that these jobs surely run after the rollout.
    control, host = create_celery_client(lifecycle.settings).control, [lifecycle.worker.hostname]
    assert control.cancel_consumer("fast", destination=host, reply=True, timeout=5)
    try:
        before = client.post("/jobs", json=IRIS).json
        rollout = client.put("/models/iris/active", json={"version": second})
        assert rollout.status_code == 200, rollout.json
        assert rollout.json["version"] == second and rollout.json["previous_version"] == first
        after = client.post("/jobs", json=IRIS).json
        pinned = client.post("/jobs", json={**IRIS, "model_version": first}).json
        assert client.get(f"/jobs/{before['id']}").json["status"] == "queued"
    finally:
        assert control.add_consumer("fast", destination=host, reply=True, timeout=5)

    for job, version in [(before, first), (after, second), (pinned, first)]:
        done = _finished(client, job)
        assert (done["model_version"], done["result"]) == (version, answers[version])
    assert lifecycle.worker.proc.poll() is None, "the worker restarted"

    # Rolling back is the same call.
    assert client.put("/models/iris/active", json={"version": first}).json["previous_version"] == second
    back = client.post("/jobs?wait=20", json=IRIS).json
    assert (back["model_version"], back["result"]) == (first, answers[first])


def test_models_lists_every_version_with_its_manifest_and_the_active_one(lifecycle: Lifecycle) -> None:
    client = lifecycle.client()
    client.put("/models/iris/active", json={"version": lifecycle.first})
    versions = {v["version"]: v for v in client.get("/models/iris").json["versions"]}
    assert {lifecycle.first, lifecycle.second} <= set(versions)
    assert [v for v, view in versions.items() if view["active"]] == [lifecycle.first]
    for version, view in versions.items():
        manifest = lifecycle.store.manifest("iris", version)
        assert view["sha256"] == manifest.sha256 and view["metrics"] == manifest.metrics
        assert view["created_at"] == manifest.created_at and view["framework"] == manifest.framework
        assert view["tasks"] == ["predict", "train"] and view["available"]
        assert set(view["input_schema"]["required"]) == {"sepal_length", "sepal_width", "petal_length", "petal_width"}


def test_unknown_pinned_version_is_a_404_and_queues_nothing(lifecycle: Lifecycle) -> None:
    client = lifecycle.client()
    response = client.post("/jobs", json={**IRIS, "model_version": "1999-01-01.1"})
    assert response.status_code == 404 and response.json["error"]["type"] == "unknown_model_version"
    assert client.get("/jobs").json["jobs"] == []


def test_csv_model_trained_by_the_cli_is_served_by_the_running_worker(lifecycle: Lifecycle, tmp_path: Path) -> None:
    csv = write_clinic_table(tmp_path / "clinic.csv")
    train_csv(
        [
            "--name",
            "clinic",
            "--data",
            str(csv),
            "--target",
            "Outcome",
            "--drop",
            "patient id",
            "--estimator",
            "logreg",
        ],
        settings=lifecycle.settings,
    )
    client = lifecycle.client()
    model = client.get("/models/clinic").json
    assert model["kind"] == "tabular-classifier" and model["available"] and model["metrics"]["roc_auc"] > 0.85
    assert model["input_schema"]["required"] == ["plasma glucose", "BMI", "noise"]
    records = [{"plasma glucose": 190, "BMI": 42, "noise": 0.1}, {"plasma glucose": 80, "BMI": 21, "noise": 0}]
    job = client.post("/jobs?wait=20", json={"model": "clinic", "inputs": records}).json
    assert job["status"] == "succeeded" and job["model_version"] == model["version"]
    assert job["result"] == tabular_predict.predict(ModelLoader(lifecycle.store).get("clinic"), records)
    assert [r["class"] for r in job["result"]] == ["1", "0"]
    refused = client.post("/jobs", json={"model": "clinic", "input": {"BMI": 30, "noise": 0}})
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json["error"]["details"]] == ["input.plasma glucose"]


def test_train_job_registers_a_version_with_its_metrics_and_activates_only_when_asked(lifecycle: Lifecycle) -> None:
    client = lifecycle.client()
    client.put("/models/iris/active", json={"version": lifecycle.first})
    accepted = client.post(
        "/jobs", json={"model": "iris", "task": "train", "params": {"estimator": "logreg", "seed": 5}}
    )
    assert accepted.status_code == 202 and accepted.json["progress"] == {"done": 0, "total": 3}
    trained = _finished(client, accepted.json)["result"]
    assert trained["active"] is False and trained["metrics"]["accuracy"] > 0.8
    model = client.get("/models/iris").json
    assert model["version"] == lifecycle.first
    [listed] = [v for v in model["versions"] if v["version"] == trained["version"]]
    assert listed["metrics"] == trained["metrics"] and not listed["active"]

    activated = _finished(
        client,
        client.post(
            "/jobs",
            json={"model": "iris", "task": "train", "params": {"estimator": "logreg", "seed": 6, "activate": True}},
        ).json,
    )
    assert activated["result"]["active"] is True
    assert client.get("/models/iris").json["version"] == activated["result"]["version"]
    served = client.post("/jobs?wait=20", json=IRIS).json
    assert served["model_version"] == activated["result"]["version"]
