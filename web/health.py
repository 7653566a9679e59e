"""Liveness and readiness: GET /health and GET /ready."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify

from jobqueue import contract, queues

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> Response:
    """The process is up; touches nothing else, so it never fails because of a dependency."""
    return jsonify({"status": "ok"})


def readiness_checks() -> dict[str, Any]:
    """Broker reachable, active models loadable (at least one), at least one live worker per queue."""
    client: redis.Redis = current_app.extensions["redis"]
    catalog = current_app.extensions["catalog"]
    checks: dict[str, Any] = {}
    try:
        client.ping()
        checks["broker"] = {"ok": True}
    except redis.RedisError as exc:
        checks["broker"] = {"ok": False, "message": f"redis unreachable: {exc}"}
    models = {name: catalog.describe(name) for name in catalog.names()}
    unavailable = sorted(name for name, m in models.items() if not m["available"])
    checks["models"] = {
        # One refused artifact must not take the instance out of rotation: the
        # other models keep serving, and the refused one is listed here.
        "ok": len(unavailable) < len(models),
        "unavailable": unavailable,
        "models": {
            name: (
                {"ok": True, "version": m["version"]}
                if m["available"]
                else {"ok": False, "version": m["version"], "message": m["unavailable_reason"]}
            )
            for name, m in models.items()
        },
    }
    if not models:
        checks["models"]["message"] = "no trained model in the model store; run `make models`"
    elif unavailable:
        checks["models"]["message"] = (
            f"unavailable: {', '.join(unavailable)}; retrain or activate another version (GET /models/<name>)"
        )
    workers: dict[str, Any] = {}
    if checks["broker"]["ok"]:
        now = time.time()
        for queue in contract.QUEUES:
            count = queues.workers_online(client, queue, now)
            workers[queue] = {"ok": count > 0, "workers": count}
    checks["workers"] = {"ok": bool(workers) and all(w["ok"] for w in workers.values()), "queues": workers}
    return checks


@bp.get("/ready")
def ready() -> Response:
    """200 when the service can take and finish jobs ("degraded" if some model cannot); 503 naming what is missing."""
    checks = readiness_checks()
    failing = [name for name, check in checks.items() if not check["ok"]]
    if not failing:
        return jsonify({"status": "degraded" if checks["models"]["unavailable"] else "ready", "checks": checks})
    response = jsonify(
        {
            "error": {
                "type": "not_ready",
                "message": "not ready: " + ", ".join(failing),
                "details": [{"field": name, "type": "check_failed", "message": str(checks[name])} for name in failing],
            },
            "checks": checks,
        }
    )
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response
