"""Operator actions on models: ``PUT /models/<name>/active`` rolls a version out, or back.

Every route here changes what the service serves, so they live in their own
blueprint: an operator-only check belongs in one ``bp.before_request`` hook.
There is deliberately no route that accepts model files: versions enter the
store only through the trainers.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.activate import ActivationRefused, activate
from models.manifest import VERSION_RE
from models.validation import field_errors
from web import auth
from web.api_keys import ADMIN
from web.errors import ApiError
from web.json_body import parse_json_body

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__)
auth.restrict_blueprint(bp, ADMIN)


class ActivateRequest(BaseModel):
    """PUT /models/{name}/active: the version that serves new jobs from now on."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"example": {"version": "2026-11-22.1"}})

    version: str = Field(
        min_length=1,
        max_length=64,
        pattern=VERSION_RE.pattern,
        description="One of GET /models/{name} versions; the previous one again rolls back.",
    )


@bp.put("/models/<name>/active")
def set_active_version(name: str) -> Response:
    """Serve another version to new jobs; queued and running jobs keep the version they were given."""
    catalog = current_app.extensions["catalog"]
    catalog.require(name)
    try:
        wanted = ActivateRequest.model_validate(parse_json_body())
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "the body does not name a version", field_errors(exc, [])) from exc
    try:
        previous = activate(catalog.store, name, wanted.version, check=catalog.problem)
    except LookupError as exc:
        raise ApiError(404, "unknown_model_version", f"{exc}; GET /models/{name} lists them") from exc
    except ActivationRefused as exc:
        raise ApiError(409, "version_unavailable", f"{exc}; it stays inactive") from exc
    # This process sees the change at once; every other one within REGISTRY_POLL_S.
    catalog.refresh()
    log.warning("model %s: version %s now serves new jobs (was %s)", name, wanted.version, previous)
    return jsonify({**catalog.describe(name), "previous_version": previous})
