"""Credit jobs at the door: thresholds, customers, features and tasks are checked before anything is queued."""

from __future__ import annotations

from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.support.data import CUSTOMER, LOCAL, PREDICT, explain_global


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.json
    return [d["field"] for d in response.json["error"]["details"]]


@pytest.mark.parametrize("threshold", [-0.01, 1.5, "high"])
def test_threshold_outside_0_to_1_is_422(idle_client: FlaskClient, threshold: Any) -> None:
    assert _fields(idle_client.post("/jobs", json=dict(PREDICT, params={"threshold": threshold}))) == [
        "params.threshold"
    ]


def test_unknown_customer_is_422_at_submit_and_nothing_is_queued(idle_client: FlaskClient) -> None:
    response = idle_client.post(
        "/jobs", json={"model": "credit", "inputs": [{"customer_id": CUSTOMER}, {"customer_id": 99}]}
    )
    assert _fields(response) == ["inputs.1.customer_id"]
    assert "GET /customers" in response.json["error"]["details"][0]["message"]
    assert idle_client.get("/jobs").json["jobs"] == []


def test_raw_features_are_checked_against_the_models_features(idle_client: FlaskClient) -> None:
    features = {
        "NOPE": 1,
        "AMT_CREDIT": "lots",
        "CODE_GENDER": "X",
        "EXT_SOURCE_1": None,
        "EXT_SOURCE_2": 0.5,
        "NAME_CONTRACT_TYPE": "Cash loans",
        "CNT_CHILDREN": True,
    }
    response = idle_client.post("/jobs", json={"model": "credit", "input": {"features": features}})
    assert _fields(response) == [
        "input.features.NOPE",
        "input.features.AMT_CREDIT",
        "input.features.CODE_GENDER",
        "input.features.CNT_CHILDREN",
    ]
    assert "Revolving loans" not in response.json["error"]["details"][2]["message"]
    assert "F, M" in response.json["error"]["details"][2]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "credit"}, "input"),
        ({"model": "credit", "input": {"customer_id": CUSTOMER, "features": {}}}, "input"),
        ({"model": "credit", "input": {"customer_id": 10**30}}, "input.customer_id"),
        ({"model": "credit", "input": {"customer_id": "100002"}}, "input.customer_id"),
        ({"model": "credit", "task": "explain"}, "input"),
        (dict(explain_global(), input={"customer_id": CUSTOMER}), "input"),
        (dict(explain_global(), inputs=[{"customer_id": CUSTOMER}]), "inputs"),
        (explain_global(sample_size=10_000_001), "params.sample_size"),
        (dict(LOCAL, params={"sample_size": 10}), "params"),
    ],
)
def test_input_must_match_what_the_task_takes(idle_client: FlaskClient, body: dict, field: str) -> None:
    assert field in _fields(idle_client.post("/jobs", json=body))


def test_explanations_go_to_the_heavy_queue_with_the_sample_as_progress_total(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    job = idle_client.post("/jobs", json=explain_global(sample_size=2000)).json
    assert job["task"] == "explain" and job["progress"] == {"done": 0, "total": 2000}
    broker = redis_lib.Redis.from_url(idle_settings.redis_url)
    assert broker.llen(contract.Q_HEAVY) == 1 and broker.llen(contract.Q_FAST) == 0
    idle_client.post("/jobs", json=PREDICT)
    assert broker.llen(contract.Q_HEAVY) == 1 and broker.llen(contract.Q_FAST) == 1
