"""CORS: off unless configured, then only for the allowed origins, preflights included."""

from __future__ import annotations

import pytest

from jobqueue.settings import Settings
from tests.support.data import ACME, bearer
from web.app import create_app

APP_ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Origin": APP_ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


def test_no_cors_headers_unless_origins_are_configured(keyed_settings: Settings) -> None:
    client = create_app(keyed_settings).test_client()
    response = client.get("/jobs", headers={"Origin": APP_ORIGIN, **bearer(ACME)})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


def test_only_allowed_origins_get_cors_headers(keyed_settings: Settings) -> None:
    client = create_app(keyed_settings.replace(cors_origins=f"{APP_ORIGIN}, https://dash.example.com")).test_client()
    allowed = client.get("/jobs", headers={"Origin": APP_ORIGIN, **bearer(ACME)})
    assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Location" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get("/jobs", headers={"Origin": "https://evil.example.net", **bearer(ACME)})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    # A browser must be able to read a refusal too, or it cannot tell the user why.
    refused = client.get("/jobs", headers={"Origin": APP_ORIGIN})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == APP_ORIGIN


def test_preflight_needs_no_key(keyed_settings: Settings) -> None:
    client = create_app(keyed_settings.replace(cors_origins=APP_ORIGIN)).test_client()
    response = client.options("/jobs", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("origins", ["app.example.com", "https://*.example.com", "https://app.example.com/path"])
def test_an_origin_that_is_not_exact_is_refused_at_start(keyed_settings: Settings, origins: str) -> None:
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        create_app(keyed_settings.replace(cors_origins=origins))
