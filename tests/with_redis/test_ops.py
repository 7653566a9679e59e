"""Operators' and integrators' endpoints: health, readiness, models, OpenAPI and docs."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.support.data import ACME, bearer


def test_health_needs_nothing_but_the_process(idle_client: FlaskClient) -> None:
    assert idle_client.get("/health").json == {"status": "ok"}


def test_not_ready_without_workers_says_which_check_fails(idle_client: FlaskClient) -> None:
    response = idle_client.get("/ready")
    assert response.status_code == 503
    assert response.json["error"]["type"] == "not_ready" and "workers" in response.json["error"]["message"]
    assert response.json["checks"]["broker"]["ok"] is True and response.json["checks"]["models"]["ok"] is True


def test_models_describe_version_tasks_schema_and_metrics(idle_client: FlaskClient) -> None:
    models = {m["name"]: m for m in idle_client.get("/models").json["models"]}
    assert {"interests", "credit", "iris"} <= set(models)
    summary = models["interests"]
    assert summary["tasks"] == ["predict", "train"] and summary["available"]
    assert summary["metrics"]["persona_adjusted_rand_index"] > 0.5
    model = idle_client.get("/models/interests").json
    assert model["version"] == summary["version"]
    assert set(model["input_schema"]["required"]) == {"interests", "city"}
    assert set(model["params_schema"]) == {"predict", "train"}
    assert len(model["details"]["vocabulary"]) >= 30
    [version] = model["versions"]
    assert version == {
        "version": model["version"],
        "active": True,
        "available": True,
        "unavailable_reason": None,
        "created_at": model["created_at"],
        "kind": "interests-nmf",
        "tasks": ["predict", "train"],
        "metrics": model["metrics"],
        "sha256": model["sha256"],
        "framework": model["framework"],
        "input_schema": model["input_schema"],
        "training_data": model["details"]["training_data"],
    }
    assert len(version["sha256"]) == 64 and version["framework"]["scikit-learn"]
    assert idle_client.get("/models/horoscope").status_code == 404


def test_openapi_covers_the_contract_and_resolves_its_references(idle_client: FlaskClient) -> None:
    spec = idle_client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path, method in [
        ("/jobs", "post"),
        ("/jobs", "get"),
        ("/jobs/{job_id}", "get"),
        ("/jobs/{job_id}", "delete"),
        ("/models", "get"),
        ("/models/{name}", "get"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/customers", "get"),
        ("/customers/{customer_id}", "get"),
        ("/metrics", "get"),
        ("/scaling", "get"),
    ]:
        assert method in spec["paths"][path]
    assert {"202", "200", "400", "404", "409", "413", "422", "503"} <= set(spec["paths"]["/jobs"]["post"]["responses"])
    schemas = spec["components"]["schemas"]
    for ref in re.findall(r'"#/components/schemas/([^"]+)"', idle_client.get("/openapi.json").get_data(as_text=True)):
        assert ref in schemas
    assert {
        "JobRequest",
        "Job",
        "ErrorBody",
        "InterestsInput",
        "CreditInput",
        "ExplainParams",
        "LocalExplanation",
        "GlobalExplanation",
        "Customer",
        "CustomerList",
    } <= set(schemas)


def test_swagger_ui_is_served_without_any_cdn(idle_client: FlaskClient) -> None:
    page = idle_client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/docs/static/") for a in assets)
    for asset in assets:
        assert idle_client.get(asset).status_code == 200


def test_the_page_and_everything_it_loads_come_from_the_service(idle_client: FlaskClient) -> None:
    page = idle_client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    external = re.compile(r"https?://(?!www\.w3\.org/2000/svg)")  # the SVG namespace is a name, not a fetch
    html = page.get_data(as_text=True)
    assert not external.search(html)
    pending, seen = re.findall(r'(?:src|href)="(/static/[^"]+)"', html), set()
    while pending:
        asset = pending.pop()
        if asset in seen:
            continue
        seen.add(asset)
        response = idle_client.get(asset)
        assert response.status_code == 200, asset
        body = response.get_data(as_text=True)
        assert not external.search(body), asset
        # ES modules import each other by relative path.
        pending += ["/static/" + name for name in re.findall(r'from "\./([\w.]+)"', body)]
    assert seen == {"/static/style.css", "/static/app.js", "/static/api.js", "/static/charts.js", "/static/format.js"}


def test_with_keys_the_page_loads_without_one_and_its_data_needs_one(keyed_client: FlaskClient) -> None:
    for path in ("/", "/static/app.js", "/static/style.css"):
        assert keyed_client.get(path).status_code == 200, path
    assert keyed_client.get("/scaling").status_code == 401
    assert keyed_client.get("/scaling", headers=bearer(ACME)).status_code == 200
