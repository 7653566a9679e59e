"""CORS for the configured browser origins; with none configured, browsers get no CORS headers."""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

from jobqueue.settings import Settings

ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def enable_cors(app: Flask, settings: Settings) -> None:
    """Let the origins of CORS_ORIGINS call the API, sending keys and reading Location and Retry-After."""
    origins = [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]
    if not origins:
        return
    for origin in origins:
        # Exact origins only (or "*"): flask-cors would take other strings as regular expressions.
        if origin != "*" and not ORIGIN_RE.match(origin):
            raise ValueError(f"CORS_ORIGINS entry {origin!r} must be scheme://host[:port], or *")
    CORS(
        app,
        origins=origins,
        supports_credentials=False,
        max_age=600,
        allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
        expose_headers=["Location", "Retry-After", "Idempotent-Replayed", "WWW-Authenticate"],
    )
