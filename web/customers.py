"""The credit model's customers: GET /customers and GET /customers/<id>, read from its pinned SQLite table.

Customer records are personal data: responses are marked ``no-store`` and
nothing here logs them. With API keys configured they need a client or admin
key, like every route that ``web.auth`` does not list as open.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from models.credit import customers
from models.manifest import ArtifactRefused
from web.errors import ApiError
from web.pagination import page_args

bp = Blueprint("customers", __name__)

MODEL = "credit"  # the model whose customer table these routes serve
# ASCII digits only, the whole string: the spec states the same pattern.
CURSOR_RE = re.compile(r"^[0-9]{1,18}$")


def _table() -> tuple[Path, str]:
    """The active credit version's verified customer file and its id column."""
    # 404 without a credit model, 503 if its files fail their sha256: the catalog checks them.
    manifest = current_app.extensions["catalog"].manifest(MODEL)
    try:
        return manifest.file_path("customers"), manifest.details["id_column"]
    except (ArtifactRefused, KeyError) as exc:
        raise ApiError(404, "no_customers", f"model {MODEL} {manifest.version} has no customer table") from exc


def _view(customer_id: int, features: dict[str, Any]) -> dict[str, Any]:
    return {"customer_id": customer_id, "features": features, "links": {"self": f"/customers/{customer_id}"}}


def _private(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/customers")
def list_customers() -> Response:
    """A page of customers in id order, all or those whose id starts with ``id_prefix`` (a search by id);
    ``next_cursor`` continues after the last one."""
    limit, cursor, details = page_args(CURSOR_RE)
    id_prefix = request.args.get("id_prefix") or None
    if id_prefix is not None and not CURSOR_RE.fullmatch(id_prefix):
        details.append({"field": "id_prefix", "type": "invalid", "message": "the first 1 to 18 digits of an id"})
    if details:
        raise ApiError(422, "validation_error", "invalid query parameters", details)
    path, id_column = _table()
    # One row more than asked tells whether another page exists.
    rows = customers.page(path, id_column, limit + 1, int(cursor) if cursor else None, id_prefix)
    more = len(rows) > limit
    rows = rows[:limit]
    return _private({"customers": [_view(i, f) for i, f in rows], "next_cursor": str(rows[-1][0]) if more else None})


@bp.get("/customers/<customer_id>")
def get_customer(customer_id: str) -> Response:
    """One customer's features, as the credit model sees them (null: missing)."""
    path, id_column = _table()
    found = customers.get(path, id_column, int(customer_id)) if CURSOR_RE.fullmatch(customer_id) else None
    if found is None:
        raise ApiError(
            404, "unknown_customer", f"no customer {customer_id!r} in model {MODEL}; GET /customers lists them"
        )
    return _private(_view(int(customer_id), found))
