"""The models resource: GET /models, GET /models/<name> and GET /models/<name>/drift."""

from __future__ import annotations

import math

from flask import Blueprint, Response, current_app, jsonify, request

from models.drift import window_report
from web.errors import ApiError
from web.jobs import from_archive

bp = Blueprint("models", __name__)
MAX_WINDOW_DAYS = 400.0


@bp.get("/models")
def list_models() -> Response:
    """Every model with its active version, tasks, availability and training metrics."""
    catalog = current_app.extensions["catalog"]
    return jsonify({"models": [catalog.describe(name) for name in catalog.names()]})


@bp.get("/models/<name>")
def get_model(name: str) -> Response:
    """One model: versions, input schema, parameters per task, metrics and details."""
    catalog = current_app.extensions["catalog"]
    catalog.require(name)
    return jsonify(catalog.describe(name, full=True))


@bp.get("/models/<name>/drift")
def get_drift(name: str) -> Response:
    """Recent inputs and predictions against the training data: PSI per feature, flags above 0.25."""
    catalog = current_app.extensions["catalog"]
    catalog.require(name)
    settings = current_app.config["SETTINGS"]
    raw = request.args.get("days") or None
    days = settings.drift_window_days
    if raw is not None:
        try:
            days = float(raw)
        except ValueError:
            days = math.nan
        if not 0 < days <= MAX_WINDOW_DAYS:
            raise ApiError(
                422,
                "validation_error",
                "invalid query parameters",
                [{"field": "days", "type": "out_of_range", "message": f"days from 0 to {MAX_WINDOW_DAYS:g}"}],
            )
    manifest = catalog.manifest(name, request.args.get("version") or None)
    try:
        report = from_archive(lambda archive: window_report(archive, manifest, days, settings.drift_max_jobs))
    except LookupError as exc:
        raise ApiError(409, "no_drift_reference", str(exc)) from exc
    return jsonify(report)
