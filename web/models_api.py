"""The models resource: GET /models and GET /models/<name>."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("models", __name__)


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
