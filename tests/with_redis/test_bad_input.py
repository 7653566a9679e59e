"""Bad input never becomes a 5xx: hostile bodies get the contract's 4xx and leave no job behind.

docs/reliability.md lists each input class with the test here that covers it.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import jsonschema_rs
import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.support.data import CUSTOMER, LOCAL, PREDICT, SIGNUP, explain_global
from web.json_body import MAX_JSON_DEPTH
from web.openapi import build_spec


def _nothing_queued(client: FlaskClient, settings: Settings) -> bool:
    return (
        client.get("/jobs").json["jobs"] == []
        and redis_lib.Redis.from_url(settings.redis_url).llen(contract.Q_FAST) == 0
    )


def _nested(levels: int, inner: str = "0") -> str:
    """``levels`` arrays inside one another around ``inner``."""
    return "[" * levels + inner + "]" * levels


def _credit_feature(value: str) -> bytes:
    """A what-if credit job whose AMT_CREDIT is ``value`` (raw JSON text), inside three levels: body, input, features."""
    body = json.dumps({"model": "credit", "input": {"features": {"AMT_CREDIT": "VALUE"}}})
    return body.replace('"VALUE"', value).encode()


@pytest.mark.parametrize(
    "body",
    [
        _nested(1_000).encode(),  # 2 KB of arrays: the standard library's parser recurses into a RecursionError
        json.dumps({"model": "interests", "input": {"interests": "X", "city": "Lisbon"}})
        .replace('"X"', _nested(1_000, '"jazz"'))
        .encode(),
        _credit_feature(_nested(260)),  # pydantic's serializer gives up at 255 levels
        _credit_feature(_nested(MAX_JSON_DEPTH - 2)),  # one level over the limit
    ],
    ids=["1000-arrays", "1000-levels-in-a-record", "credit-feature-260-levels", "limit-plus-one"],
)
def test_a_body_nested_too_deep_is_400_invalid_json(
    idle_client: FlaskClient, idle_settings: Settings, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = idle_client.post("/jobs", data=body, content_type="application/json")
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["type"] == "invalid_json" and f"more than {MAX_JSON_DEPTH} levels" in error["message"]
    assert caplog.records == []  # no unhandled error, no traceback
    assert _nothing_queued(idle_client, idle_settings)


def test_a_body_at_the_nesting_limit_is_judged_on_its_content(idle_client: FlaskClient) -> None:
    # body, input, features, then the value's arrays: MAX_JSON_DEPTH levels in all
    response = idle_client.post(
        "/jobs", data=_credit_feature(_nested(MAX_JSON_DEPTH - 3)), content_type="application/json"
    )
    assert response.status_code == 422, response.json
    assert [d["field"] for d in response.json["error"]["details"]] == ["input.features.AMT_CREDIT"]


def test_an_operator_body_nested_too_deep_is_400(idle_client: FlaskClient) -> None:
    response = idle_client.put(
        "/models/iris/active",
        data=json.dumps({"version": "X"}).replace('"X"', _nested(1_000)),
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json["error"]["type"] == "invalid_json"


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "interests", "input": {"interests": ["\\ud800"], "city": "Lisbon"}}',  # a lone surrogate
        '{"model": "interests", "input": {"interests": ["jazz"], "city": "Lisbon"}}'.encode("utf-16"),
    ],
    ids=["lone-surrogate", "utf-16"],
)
def test_text_that_utf8_json_cannot_carry_is_400(idle_client: FlaskClient, body: bytes) -> None:
    response = idle_client.post("/jobs", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["type"] == "invalid_json"


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON followed by spaces up to ``size`` bytes: valid JSON however it is cut past the object."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


@pytest.mark.parametrize(("extra", "status"), [(0, 202), (1, 413), (1_000_000, 413)], ids=["limit", "limit+1", "+1MB"])
@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_body_over_the_limit_is_413_however_it_is_framed(
    idle_client: FlaskClient, idle_settings: Settings, framing: str, extra: int, status: int
) -> None:
    body = _padded(SIGNUP, idle_settings.max_request_bytes + extra)
    if framing == "chunked":
        # What gunicorn hands the app for Transfer-Encoding: chunked: no Content-Length, a stream it ends itself.
        response = idle_client.post(
            "/jobs",
            input_stream=io.BytesIO(body),
            content_type="application/json",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    else:
        response = idle_client.post("/jobs", data=body, content_type="application/json")
    assert response.status_code == status, response.json
    if status == 413:
        assert response.json["error"]["type"] == "payload_too_large"
        assert str(idle_settings.max_request_bytes) in response.json["error"]["message"]
        assert _nothing_queued(idle_client, idle_settings)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"threshold": True}, "params.threshold"),  # was taken as 1.0, and a decision returned
        ({"threshold": "0.5"}, "params.threshold"),
        ({"threshold": None, "extra": 1}, "params.extra"),
    ],
)
def test_credit_threshold_must_be_a_json_number(idle_client: FlaskClient, params: dict[str, Any], field: str) -> None:
    response = idle_client.post("/jobs", json=dict(PREDICT, params=params))
    assert response.status_code == 422 and [d["field"] for d in response.json["error"]["details"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (explain_global() | {"params": {"scope": "global", "sample_size": "10"}}, "params.sample_size"),
        (explain_global() | {"params": {"scope": "global", "sample_size": True}}, "params.sample_size"),
        (explain_global() | {"params": {"scope": "global", "seed": 1.0}}, "params.seed"),
        (LOCAL | {"params": {"top": "5"}}, "params.top"),
        ({"model": "iris", "task": "train", "params": {"activate": 1}}, "params.activate"),
        ({"model": "iris", "task": "train", "params": {"seed": "1"}}, "params.seed"),
        ({"model": "interests", "task": "train", "params": {"n_clusters": 4.5}}, "params.n_clusters"),
        ({"model": "interests", "input": {"interests": ["jazz"], "city": 7}}, "input.city"),
        ({"model": 7, "input": {}}, "model"),
    ],
)
def test_integers_and_booleans_are_strict_where_the_spec_says_so(
    idle_client: FlaskClient, idle_settings: Settings, body: dict[str, Any], field: str
) -> None:
    response = idle_client.post("/jobs", json=body)
    assert response.status_code == 422, response.json
    assert [d["field"] for d in response.json["error"]["details"]] == [field]
    assert _nothing_queued(idle_client, idle_settings)


def test_a_number_may_be_written_as_an_integer(idle_client: FlaskClient) -> None:
    assert idle_client.post("/jobs", json=dict(PREDICT, params={"threshold": 1})).status_code == 202


# Which bodies need input: every task of every model, with a record, a batch, both, neither, or null.
RECORDS = {
    "interests": SIGNUP["input"],
    "iris": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    "credit": {"customer_id": CUSTOMER},
}
TASKS = [
    ("interests", "predict", None),
    ("iris", "predict", None),
    ("credit", "predict", {"threshold": 0.5}),
    ("credit", "explain", None),
    ("credit", "explain", {"scope": "local"}),
    ("credit", "explain", {"scope": "global", "sample_size": 100}),
    ("interests", "train", {}),
    ("iris", "train", {"estimator": "logreg"}),
    ("credit", "train", None),
]
PRESENCE = {
    "neither": {},
    "input": {"input": "record"},
    "inputs": {"inputs": ["record"]},
    "both": {"input": "record", "inputs": ["record"]},
    "input-null": {"input": None},
    "null-and-batch": {"input": None, "inputs": ["record"]},
}


def _with_records(model: str, presence: dict[str, Any]) -> dict[str, Any]:
    record = RECORDS[model]
    return {
        key: [record] if value == ["record"] else record if value == "record" else value
        for key, value in presence.items()
    }


@pytest.fixture(scope="module")
def job_request_schema() -> jsonschema_rs.Draft202012Validator:
    """The spec's JobRequest, its references resolved against the whole document."""
    spec = build_spec()
    return jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/JobRequest", "components": spec["components"]}
    )


@pytest.mark.parametrize("presence", PRESENCE)
@pytest.mark.parametrize(("model", "task", "params"), TASKS, ids=lambda v: str(v))
def test_the_spec_and_the_service_agree_on_which_jobs_need_input(
    idle_client: FlaskClient,
    job_request_schema: jsonschema_rs.Draft202012Validator,
    model: str,
    task: str,
    params: dict[str, Any] | None,
    presence: str,
) -> None:
    body = {"model": model, "task": task, **({"params": params} if params is not None else {})}
    body |= _with_records(model, PRESENCE[presence])
    accepted = idle_client.post("/jobs", json=body)
    assert accepted.status_code in (202, 422), accepted.json
    assert job_request_schema.is_valid(body) == (accepted.status_code == 202), accepted.json


@pytest.mark.parametrize(("bad", "listed", "omitted"), [(10_000, 100, 9_900), (100, 100, 0), (3, 3, 0)])
def test_a_batch_of_bad_records_lists_the_first_100_problems_and_counts_the_rest(
    idle_client: FlaskClient, idle_settings: Settings, bad: int, listed: int, omitted: int
) -> None:
    # Each record lacks its city: one problem per record.
    body = {"model": "interests", "inputs": [{"interests": ["jazz"]}] * bad}
    response = idle_client.post("/jobs", json=body)
    assert response.status_code == 422
    error = response.json["error"]
    assert [d["field"] for d in error["details"]] == [f"inputs.{i}.city" for i in range(listed)]
    assert error.get("details_omitted", 0) == omitted
    assert ("details_omitted" in error) == (omitted > 0)
    # 10,000 such records made a 3.4 MB answer; now a few kilobytes.
    assert len(response.get_data()) < 20_000
    assert _nothing_queued(idle_client, idle_settings)
