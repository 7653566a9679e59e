"""Every error, whatever its source, is the contract's JSON body; none carries a traceback."""

from __future__ import annotations

from typing import Any

from flask import Flask

from jobqueue.settings import Settings
from tests.support.data import ACME, SIGNUP, bearer
from web import auth
from web.app import create_app


def _assert_error_body(response: Any, status: int, type_: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error"} and set(response.json["error"]) == {"type", "message", "details"}
    assert response.json["error"]["type"] == type_ and response.json["error"]["message"]


def _app_with_a_crashing_route(settings: Settings) -> Flask:
    app = create_app(settings)

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internal detail")

    return app


def test_each_refusal_uses_the_error_body(keyed_settings: Settings) -> None:
    app = create_app(keyed_settings.replace(rate_limit_per_key=1, rate_limit_window_s=3600))
    app.add_url_rule("/activate", view_func=auth.require_role(auth.ADMIN)(dict))
    client = app.test_client()
    _assert_error_body(client.get("/jobs"), 401, "unauthorized")
    _assert_error_body(client.get("/activate", headers=bearer(ACME)), 403, "forbidden")
    _assert_error_body(client.get("/nowhere", headers=bearer(ACME)), 404, "not_found")
    _assert_error_body(client.put("/jobs", json=SIGNUP, headers=bearer(ACME)), 405, "method_not_allowed")
    assert client.post("/jobs", json=SIGNUP, headers=bearer(ACME)).status_code == 202
    _assert_error_body(client.post("/jobs", json=SIGNUP, headers=bearer(ACME)), 429, "rate_limited")


def test_an_unexpected_error_is_a_json_500_without_a_traceback(keyed_settings: Settings) -> None:
    client = _app_with_a_crashing_route(keyed_settings).test_client()
    response = client.get("/crash", headers=bearer(ACME))
    _assert_error_body(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "secret internal detail", "RuntimeError", ".py"):
        assert leak not in text


def test_a_view_that_forgets_authentication_fails_closed(keyed_settings: Settings) -> None:
    app = create_app(keyed_settings)
    # /docs is open, so no caller is known there; asking for one must not default to a privileged one.
    app.view_functions["openapi.docs"] = lambda: {"tenant": auth.principal().tenant}
    response = app.test_client().get("/docs")
    _assert_error_body(response, 500, "internal_error")
