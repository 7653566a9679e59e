"""Logs: one JSON line per request and per job transition, from web, worker and gunicorn, with no customer data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from tests.processes import WebProcess, WorkerProcess, eventually
from web.app import create_app
from jobqueue.settings import Settings

# Feature values no other part of the suite uses, so finding them in a log means this test leaked them.
WHAT_IF = {"model": "credit", "input": {"features": {"AMT_INCOME_TOTAL": 987654.321, "AMT_CREDIT": 13579.2468}}}
LEAKS = ("987654", "13579.24")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_worker_logs_each_transition_as_json_without_the_input(live_client: FlaskClient,
                                                                worker_process: WorkerProcess) -> None:
    job = live_client.post("/jobs?wait=20", json=WHAT_IF).json
    assert job["status"] == "succeeded", job
    log: Path = worker_process.log_path

    def transitions() -> dict[str, dict]:
        mine = [line for line in log.read_text().splitlines() if job["id"] in line]
        events = {entry["message"]: entry for entry in map(json.loads, mine) if entry["logger"] == "worker.runner"}
        return events if "job_finished" in events else {}

    events = eventually(transitions, message="the job's finish logged")
    shared = {"job_id": job["id"], "model": "credit", "model_version": job["model_version"], "queue": "fast",
              "task": "predict", "attempts": 1}
    assert events["job_started"].items() >= {**shared, "status": "running"}.items()
    assert events["job_started"]["queue_wait_ms"] >= 0
    assert events["job_finished"].items() >= {**shared, "status": "succeeded", "error_type": None}.items()
    assert events["job_finished"]["duration_ms"] > 0
    assert {"time", "level", "process"} <= events["job_finished"].keys()
    text = log.read_text()
    assert not any(leak in text for leak in LEAKS)


def test_web_logs_each_request_as_json_without_customer_data_or_credentials(
        idle_settings: Settings, capfd: pytest.CaptureFixture) -> None:
    client = create_app(idle_settings).test_client()
    capfd.readouterr()
    headers = {"Authorization": "Bearer key-that-must-not-leak", "X-Request-ID": "req-42"}
    job = client.post("/jobs", json=WHAT_IF, headers=headers).json
    customer = client.get("/customers?limit=1").json["customers"][0]
    client.get(f"/customers/{customer['customer_id']}", headers=headers)
    client.get(f"/jobs/{job['id']}?wait=0")
    lines = json_lines(capfd.readouterr().err)

    seen = [(e["method"], e["route"], e["status"], e["job_id"]) for e in lines if e["message"] == "request"]
    assert seen == [("POST", "/jobs", 202, job["id"]), ("GET", "/customers", 200, None),
                    ("GET", "/customers/<customer_id>", 200, None), ("GET", "/jobs/<job_id>", 200, job["id"])]
    first = next(e for e in lines if e["message"] == "request")
    assert first["request_id"] == "req-42" and first["duration_ms"] > 0
    queued = next(e for e in lines if e["message"] == "job_queued")
    assert queued.items() >= {"job_id": job["id"], "model": "credit", "queue": "fast", "task": "predict",
                              "model_version": job["model_version"], "status": "queued"}.items()
    text = json.dumps(lines)
    private = [str(v) for v in customer["features"].values() if isinstance(v, (int, float)) and len(str(v)) >= 5]
    assert private and not any(value in text for value in private)
    assert str(customer["customer_id"]) not in text
    assert not any(leak in text for leak in (*LEAKS, "key-that-must-not-leak"))


def test_gunicorn_and_the_app_write_nothing_but_json_lines(web_server: WebProcess) -> None:
    requests.get(f"{web_server.url}/jobs?limit=1", timeout=10)

    def logged() -> list[dict]:
        entries = json_lines(web_server.log_path.read_text())  # fails on any line that is not JSON
        return entries if any(e.get("route") == "/jobs" for e in entries) else []

    entries = eventually(logged, message="the request logged")
    assert any(e["logger"] == "gunicorn.error" and "Listening" in e["message"] for e in entries)
    assert not any(e["logger"] == "gunicorn.access" for e in entries)
