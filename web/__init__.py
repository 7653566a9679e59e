"""The web front door: ``create_app(settings)`` builds the Flask app that accepts and reports jobs."""
from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

from models.manifest import ModelStore
from web import admin, auth, customers, health, jobs, metrics, models_api, openapi, page
from web.admission import Admission
from web.catalog import ModelCatalog
from web.errors import register_error_handlers
from web.requestlog import register_request_log
from web.submission import Submitter
from web.waiting import CompletionListener
from worker.celery_app import create_celery
from worker.jobstore import JobStore
from worker.logs import configure_logging
from worker.redis_client import create_redis
from worker.settings import Settings

ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; tests pass their own settings (their Redis, their model folder)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.from_mapping(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_request_bytes)
    # Keep fields in the contract's order, as clients read them.
    app.json.sort_keys = False

    client = create_redis(settings)
    job_store = JobStore(client, ttl_s=settings.job_ttl_s, max_attempts=settings.max_attempts)
    celery = create_celery(settings)
    catalog = ModelCatalog(ModelStore(settings.model_dir))
    app.extensions.update(
        redis=client, jobs=job_store, celery=celery, catalog=catalog,
        submitter=Submitter(settings, job_store, celery, catalog, Admission(settings)),
        completions=CompletionListener(client),
    )

    register_error_handlers(app)
    # Before authentication, so a refused request is timed and logged too.
    register_request_log(app)
    auth.install(app, settings)
    enable_cors(app, settings)
    for blueprint in (jobs.bp, models_api.bp, admin.bp, customers.bp, health.bp, metrics.bp, openapi.bp, page.bp):
        app.register_blueprint(blueprint)
    return app


def enable_cors(app: Flask, settings: Settings) -> None:
    """Let the configured browser origins call the API; with none configured, browsers get no CORS headers."""
    origins = [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]
    if not origins:
        return
    for origin in origins:
        # Exact origins only (or "*"): flask-cors would take other strings as regular expressions.
        if origin != "*" and not ORIGIN_RE.match(origin):
            raise ValueError(f"CORS_ORIGINS entry {origin!r} must be scheme://host[:port], or *")
    CORS(app, origins=origins, supports_credentials=False, max_age=600,
         allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
         expose_headers=["Location", "Retry-After", "Idempotent-Replayed", "WWW-Authenticate"])
