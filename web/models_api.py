"""The models resource: GET /models and GET /models/<name>."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from models.manifest import NAME_RE
from web.errors import ApiError

bp = Blueprint("models", __name__)


@bp.get("/models")
def list_models() -> Response:
    """Every model with its active version, tasks, availability and training metrics."""
    catalog = current_app.extensions["catalog"]
    return jsonify({"models": [catalog.describe(name) for name in catalog.store.names()]})


@bp.get("/models/<name>")
def get_model(name: str) -> Response:
    """One model: versions, input schema, parameters per task, metrics and details."""
    catalog = current_app.extensions["catalog"]
    if not NAME_RE.match(name) or name not in catalog.store.names():
        raise ApiError(404, "unknown_model", f"no model named {name!r}; GET /models lists them")
    return jsonify(catalog.describe(name, full=True))
