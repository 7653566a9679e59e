"""GET /: the page people use to try the service: plain files in web/static, nothing from a CDN.

Its scripts and styles are served by Flask's own static route (/static/...)
from the same folder; the page calls the public JSON API like any client.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("page", __name__)

# Everything comes from this origin; nothing else may be loaded, and the page may not be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@bp.get("/")
def index() -> Response:
    """The page; it sends the API key typed into it as ``Authorization: Bearer``."""
    response = current_app.send_static_file("index.html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-cache"
    return response
