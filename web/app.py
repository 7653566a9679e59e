"""``create_app(settings)``: the Flask app that accepts and reports jobs, with its shared resources."""

from __future__ import annotations

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from jobqueue.archive import Archive
from jobqueue.celery_client import create_celery_client
from jobqueue.connections import create_redis
from jobqueue.database import create_engine
from jobqueue.logs import configure_logging
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from models.cache import ModelCache
from models.registry_db import RegistryDB
from models.store import ModelStore
from web import admin, auth, customers, erasure, health, jobs, metrics, models_api, openapi, page
from web.catalog import ModelCatalog
from web.cors import enable_cors
from web.errors import register_error_handlers
from web.requestlog import register_request_log
from web.submission import Submitter
from web.waiting import CompletionListener


class ContractOrderJSON(DefaultJSONProvider):
    """Flask's JSON, with fields kept in the contract's order, as clients read them."""

    sort_keys = False


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; tests pass their own settings (their Redis, their model folder)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.from_mapping(SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_request_bytes)
    app.json = ContractOrderJSON(app)

    client = create_redis(settings)
    job_store = JobStore.for_settings(client, settings)
    celery = create_celery_client(settings)
    # One engine for the registry and the archive: hosted PostgreSQL plans allow few connections.
    engine = create_engine(settings)
    catalog = ModelCatalog(ModelStore(RegistryDB(engine), ModelCache(settings.model_dir)), settings.registry_poll_s)
    app.extensions.update(
        redis=client,
        jobs=job_store,
        archive=Archive(engine),
        celery=celery,
        catalog=catalog,
        submitter=Submitter(settings, job_store, celery, catalog),
        completions=CompletionListener(client),
    )

    register_error_handlers(app)
    # Before authentication, so a refused request is timed and logged too.
    register_request_log(app)
    auth.install(app, settings)
    enable_cors(app, settings)
    blueprints = (
        jobs.bp,
        models_api.bp,
        admin.bp,
        erasure.bp,
        customers.bp,
        health.bp,
        metrics.bp,
        openapi.bp,
        page.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app
