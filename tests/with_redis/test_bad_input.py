"""Bad input never becomes a 5xx: hostile bodies get the contract's 4xx and leave no job behind.

docs/reliability.md lists each input class with the test here that covers it.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.support.data import SIGNUP
from web.json_body import MAX_JSON_DEPTH


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
