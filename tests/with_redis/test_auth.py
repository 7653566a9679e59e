"""API keys, roles and tenants: who may call what, and that one tenant never sees another's jobs."""

from __future__ import annotations

import logging

import pytest
import redis as redis_lib
from flask import Blueprint, jsonify
from flask.testing import FlaskClient

from jobqueue.settings import Settings
from tests.support.data import ACME, ACME_ROTATED, GLOBEX, OPS, SIGNUP, bearer
from web import auth
from web.app import create_app


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", "/jobs/" + "0" * 32),
        ("DELETE", "/jobs/" + "0" * 32),
        ("GET", "/models"),
        ("GET", "/customers"),
        ("GET", "/customers/100002"),
        ("GET", "/ready"),
        ("GET", "/nowhere"),
    ],
)
def test_without_a_key_every_endpoint_but_the_open_ones_is_401(
    keyed_client: FlaskClient, keyed_settings: Settings, method: str, path: str
) -> None:
    response = keyed_client.open(path, method=method, json=SIGNUP if method == "POST" else None)
    assert response.status_code == 401
    assert response.json["error"]["type"] == "unauthorized" and "Bearer" in response.json["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert redis_lib.Redis.from_url(keyed_settings.redis_url).llen("fast") == 0


def test_health_and_the_api_description_stay_open(keyed_client: FlaskClient) -> None:
    for path in ("/health", "/docs", "/openapi.json"):
        assert keyed_client.get(path).status_code == 200, path
    spec = keyed_client.get("/openapi.json").json
    assert set(spec["components"]["securitySchemes"]) == {"bearerKey", "headerKey"}
    assert spec["paths"]["/health"]["get"]["security"] == [] and "401" in spec["paths"]["/jobs"]["get"]["responses"]


def test_unknown_key_is_401(keyed_client: FlaskClient) -> None:
    for headers in (bearer("not-a-key-of-this-service"), {"X-API-Key": ACME + "x"}, {"Authorization": ACME}):
        response = keyed_client.get("/jobs", headers=headers)
        assert response.status_code == 401, headers


def test_bearer_and_x_api_key_headers_both_work(keyed_client: FlaskClient) -> None:
    assert keyed_client.get("/jobs", headers=bearer(ACME)).status_code == 200
    assert keyed_client.get("/jobs", headers={"X-API-Key": ACME}).status_code == 200


def test_jobs_belong_to_the_tenant_so_rotated_keys_see_them(keyed_client: FlaskClient) -> None:
    job_id = keyed_client.post("/jobs", json=SIGNUP, headers=bearer(ACME)).json["id"]
    assert keyed_client.get(f"/jobs/{job_id}", headers=bearer(ACME_ROTATED)).status_code == 200
    listed = keyed_client.get("/jobs", headers=bearer(ACME_ROTATED)).json["jobs"]
    assert [job["id"] for job in listed] == [job_id]


def test_another_tenants_job_cannot_be_read_listed_or_canceled(keyed_client: FlaskClient) -> None:
    job_id = keyed_client.post("/jobs", json=SIGNUP, headers=bearer(ACME)).json["id"]
    for response in (
        keyed_client.get(f"/jobs/{job_id}", headers=bearer(GLOBEX)),
        keyed_client.get(f"/jobs/{job_id}?wait=0.1", headers=bearer(GLOBEX)),
        keyed_client.delete(f"/jobs/{job_id}", headers=bearer(GLOBEX)),
        keyed_client.get(f"/jobs/{job_id}", headers=bearer(OPS)),
    ):
        assert response.status_code == 404 and response.json["error"]["type"] == "unknown_job"
    assert keyed_client.get("/jobs", headers=bearer(GLOBEX)).json["jobs"] == []
    assert keyed_client.get(f"/jobs/{job_id}", headers=bearer(ACME)).json["status"] == "queued"


def test_idempotency_keys_are_scoped_to_the_tenant(keyed_client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "signup-user-42"}
    first = keyed_client.post("/jobs", json=SIGNUP, headers={**headers, **bearer(ACME)})
    other = keyed_client.post("/jobs", json=SIGNUP, headers={**headers, **bearer(GLOBEX)})
    replay = keyed_client.post("/jobs", json=SIGNUP, headers={**headers, **bearer(ACME_ROTATED)})
    assert first.status_code == other.status_code == replay.status_code == 202
    assert other.json["id"] != first.json["id"] and "Idempotent-Replayed" not in other.headers
    assert replay.json["id"] == first.json["id"] and replay.headers["Idempotent-Replayed"] == "true"


def test_client_keys_get_403_where_an_admin_is_needed(keyed_settings: Settings) -> None:
    app = create_app(keyed_settings)
    admin_bp = Blueprint("test_admin", __name__)
    auth.restrict_blueprint(admin_bp, auth.ADMIN)
    admin_bp.add_url_rule("/admin/ping", view_func=lambda: jsonify({"pong": True}))
    app.register_blueprint(admin_bp)
    app.add_url_rule("/activate", view_func=auth.require_role(auth.ADMIN)(lambda: jsonify({"ok": True})))
    client = app.test_client()
    for path in ("/admin/ping", "/activate", "/metrics"):
        denied = client.get(path, headers=bearer(ACME))
        assert denied.status_code == 403 and denied.json["error"]["type"] == "forbidden", path
        assert "admin" in denied.json["error"]["message"]
    training = client.post("/jobs", json={"model": "interests", "task": "train"}, headers=bearer(ACME))
    assert training.status_code == 403 and client.get("/jobs", headers=bearer(ACME)).json["jobs"] == []
    assert client.get("/admin/ping", headers=bearer(OPS)).json == {"pong": True}
    assert client.get("/activate", headers=bearer(OPS)).status_code == 200
    assert client.get("/admin/ping").status_code == 401


def test_admin_keys_do_what_client_keys_do(keyed_client: FlaskClient) -> None:
    response = keyed_client.post("/jobs", json=SIGNUP, headers=bearer(OPS))
    assert response.status_code == 202
    assert keyed_client.get("/customers?limit=1", headers=bearer(OPS)).status_code == 200
    assert keyed_client.get("/customers?limit=1", headers=bearer(GLOBEX)).status_code == 200


def test_open_mode_answers_without_keys_and_says_so(idle_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="web.auth"):
        client = create_app(idle_settings).test_client()
    assert any("OPEN MODE" in record.getMessage() for record in caplog.records)
    job_id = client.post("/jobs", json=SIGNUP).json["id"]
    assert client.get(f"/jobs/{job_id}").status_code == 200 and client.delete(f"/jobs/{job_id}").status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        "client:acme:short",
        "owner:acme:long-enough-secret-1",
        "client::long-enough-secret-1",
        "client:a b:long-enough-secret-1",
        "long-enough-secret-1",
    ],
)
def test_malformed_api_keys_stop_the_start_without_echoing_the_secret(idle_settings: Settings, raw: str) -> None:
    with pytest.raises(ValueError, match="entry 2") as refused:
        create_app(idle_settings.replace(api_keys=f"client:ok:fine-secret-0000001,{raw}"))
    assert "entry 2" in str(refused.value) and "secret-1" not in str(refused.value)


def test_rolling_out_a_model_version_needs_an_admin_key(keyed_client: FlaskClient) -> None:
    version = keyed_client.get("/models/interests", headers=bearer(OPS)).json["version"]
    body = {"version": version}
    denied = keyed_client.put("/models/interests/active", json=body, headers=bearer(ACME))
    assert denied.status_code == 403 and denied.json["error"]["type"] == "forbidden"
    assert keyed_client.put("/models/interests/active", json=body).status_code == 401
    allowed = keyed_client.put("/models/interests/active", json=body, headers=bearer(OPS))
    assert allowed.status_code == 200, allowed.json


def test_a_long_secret_alone_is_an_admin_key_as_a_platform_generates_one(idle_settings: Settings) -> None:
    generated = "9f" * 32  # what Heroku's app.json "generator": "secret" makes: 64 hex characters
    client = create_app(idle_settings.replace(api_keys=f"{generated},client:acme:{ACME}")).test_client()
    assert client.get("/metrics", headers=bearer(generated)).status_code == 200  # admin only
    assert client.get("/metrics", headers=bearer(ACME)).status_code == 403
    assert client.get("/metrics", headers=bearer(generated[:-1])).status_code == 401
