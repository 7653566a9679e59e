"""The web's request and job lines: JSON, with no customer data or credential."""

from __future__ import annotations

import json

import pytest

from jobqueue.settings import Settings
from web.app import create_app

# Feature values no other part of the suite uses, so finding them in a log means this test leaked them.
WHAT_IF = {"model": "credit", "input": {"features": {"AMT_INCOME_TOTAL": 987654.321, "AMT_CREDIT": 13579.2468}}}
LEAKS = ("987654", "13579.24")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_web_logs_each_request_as_json_without_customer_data_or_credentials(
    idle_settings: Settings, capfd: pytest.CaptureFixture
) -> None:
    client = create_app(idle_settings).test_client()
    capfd.readouterr()
    headers = {"Authorization": "Bearer key-that-must-not-leak", "X-Request-ID": "req-42"}
    job = client.post("/jobs", json=WHAT_IF, headers=headers).json
    customer = client.get("/customers?limit=1").json["customers"][0]
    client.get(f"/customers/{customer['customer_id']}", headers=headers)
    client.get(f"/jobs/{job['id']}?wait=0")
    lines = json_lines(capfd.readouterr().err)

    seen = [(e["method"], e["route"], e["status"], e["job_id"]) for e in lines if e["message"] == "request"]
    assert seen == [
        ("POST", "/jobs", 202, job["id"]),
        ("GET", "/customers", 200, None),
        ("GET", "/customers/<customer_id>", 200, None),
        ("GET", "/jobs/<job_id>", 200, job["id"]),
    ]
    first = next(e for e in lines if e["message"] == "request")
    assert first["request_id"] == "req-42" and first["duration_ms"] > 0
    queued = next(e for e in lines if e["message"] == "job_queued")
    assert (
        queued.items()
        >= {
            "job_id": job["id"],
            "model": "credit",
            "queue": "fast",
            "task": "predict",
            "model_version": job["model_version"],
            "status": "queued",
        }.items()
    )
    text = json.dumps(lines)
    private = [str(v) for v in customer["features"].values() if isinstance(v, (int, float)) and len(str(v)) >= 5]
    assert private and not any(value in text for value in private)
    assert str(customer["customer_id"]) not in text
    assert not any(leak in text for leak in (*LEAKS, "key-that-must-not-leak"))
