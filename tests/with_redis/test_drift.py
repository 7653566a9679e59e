"""Drift: recent inputs and predictions against the training data, from archived jobs the real workers ran."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue.archive import Archive
from jobqueue.settings import Settings
from models.interests.dataset import VOCABULARY
from models.store import ModelStore
from tests.support.archiving import drain
from tests.support.data import registry_settings
from tests.support.processes import WorkerProcess
from web.app import create_app
from worker.drift_figures import refresh_drift_figures

APPLICANTS = 300


@pytest.fixture
def drift_settings(settings: Settings, model_copy: Path, worker_process: WorkerProcess) -> Settings:
    return registry_settings(settings, model_copy)


def _applicants(web: FlaskClient) -> list[dict[str, Any]]:
    """The first customers of the credit model's table, with their features as the model reads them."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while len(found) < APPLICANTS:
        page = web.get(f"/customers?limit=100&cursor={cursor}").json
        found += page["customers"]
        cursor = page["next_cursor"]
    return found[:APPLICANTS]


def _scored(web: FlaskClient, settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    response = web.post("/jobs?wait=30", json=body)
    assert response.status_code == 200 and response.json["status"] == "succeeded", response.json
    drain(settings)
    report = web.get("/models/credit/drift" if body["model"] == "credit" else f"/models/{body['model']}/drift")
    assert report.status_code == 200, report.json
    result: dict[str, Any] = report.json
    return result


def test_applicants_like_the_training_data_flag_nothing(drift_settings: Settings) -> None:
    web = create_app(drift_settings).test_client()
    ids = [{"customer_id": customer["customer_id"]} for customer in _applicants(web)]
    report = _scored(web, drift_settings, {"model": "credit", "inputs": ids})
    assert report["flagged"] == []
    assert report["window"]["jobs"] == 1 and report["window"]["records"] == APPLICANTS
    assert report["reference"]["version"] == report["version"] and report["reference"]["rows"] > 0
    assert all(feature["records"] == APPLICANTS for feature in report["features"])
    assert report["prediction"]["name"] == "probability" and not report["prediction"]["flagged"]


def test_incomes_three_times_higher_flag_exactly_the_income(drift_settings: Settings) -> None:
    web = create_app(drift_settings).test_client()
    shifted = []
    for customer in _applicants(web):
        features = dict(customer["features"])
        if features["AMT_INCOME_TOTAL"] is not None:
            features["AMT_INCOME_TOTAL"] *= 3
        shifted.append({"features": features})
    report = _scored(web, drift_settings, {"model": "credit", "inputs": shifted})
    assert report["flagged"] == ["AMT_INCOME_TOTAL"]
    income = next(feature for feature in report["features"] if feature["name"] == "AMT_INCOME_TOTAL")
    assert income["psi"] > 1 and income["missing_share"]["window"] == income["missing_share"]["reference"]

    # /metrics exports what the archiver computed for the active version.
    client = redis_lib.Redis.from_url(drift_settings.redis_url)
    archive = Archive.for_settings(drift_settings)
    assert refresh_drift_figures(drift_settings, client, archive, ModelStore.for_settings(drift_settings)) == 3
    scraped = web.get("/metrics").text
    version = report["version"]
    line = f'scoring_model_drift_psi{{feature="AMT_INCOME_TOTAL",model="credit",version="{version}"}}'
    assert line in scraped
    assert f'scoring_model_drift_flagged_features{{model="credit",version="{version}"}} 1.0' in scraped


def test_signups_from_a_city_never_seen_flag_the_city(drift_settings: Settings) -> None:
    web = create_app(drift_settings).test_client()
    rng = random.Random(3)
    signups = [{"interests": rng.sample(VOCABULARY, 4), "city": "Reykjavik"} for _ in range(100)]
    report = _scored(web, drift_settings, {"model": "interests", "inputs": signups})
    assert report["flagged"] == ["city"]
    assert report["prediction"]["name"] == "cluster"


def test_a_bad_window_is_422_and_an_unknown_model_404(drift_settings: Settings) -> None:
    web = create_app(drift_settings).test_client()
    assert web.get("/models/credit/drift?days=0").status_code == 422
    assert web.get("/models/nothing/drift").status_code == 404
    empty = web.get("/models/iris/drift?days=0.5").json
    assert empty["window"]["jobs"] == 0 and all(f["psi"] is None for f in empty["features"])
