"""The OpenAPI document, generated from the same pydantic models that validate requests, and Swagger UI.

Swagger UI's files come from the flask-swagger-ui package (Swagger UI 5, which
renders OpenAPI 3.1), so /docs works with no internet access.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Blueprint, Response, current_app, jsonify, send_from_directory
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from jobqueue import contract
from jobqueue.scaling import QueueSignal
from models.kinds import KINDS
from web import auth, customers, jobs
from web.admin import ActivateRequest
from web.json_body import MAX_JSON_DEPTH
from web.models_api import MAX_WINDOW_DAYS
from web.schemas import (
    CallbackState,
    Customer,
    CustomerList,
    DriftReport,
    Erasure,
    ErrorBody,
    Job,
    JobList,
    JobRequest,
)

bp = Blueprint("openapi", __name__)

# The Swagger UI distribution the package ships (its VERSION file names it); only its files are used.
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "Body is not UTF-8 JSON, not an object, or nests arrays and objects more than "
        f"{MAX_JSON_DEPTH} levels deep",
        404: "Not found",
        409: "Conflict",
        401: "API keys are configured and none, or an unknown one, was sent",
        403: "The key's role may not do this",
        413: "Body larger than the configured limit",
        422: "Invalid input; one detail per bad field",
        429: "The model's queue is full (queue_full), the key's tenant is over its rate (rate_limited), or "
        "the model already has a train job queued or running (train_in_progress: one trains at a time); "
        "nothing was accepted",
        503: "Broker or model unavailable; nothing was accepted, unless Redis stopped answering mid-request "
        "(the message says so): retry with the same Idempotency-Key",
    }
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying"}}
    return {str(code): _json(_ref("ErrorBody"), reasons[code], retry if code in (429, 503) else None) for code in codes}


def _or_empty(pattern: str) -> str:
    """An anchored pattern that also takes the empty string, which the service reads as not given."""
    return f"^({pattern.removeprefix('^').removesuffix('$')})?$"


def _wait_param(max_wait_s: float) -> dict[str, Any]:
    return {
        "name": "wait",
        "in": "query",
        "required": False,
        "description": f"Hold the request until the job ends or this many seconds pass (at most {max_wait_s:g}).",
        "schema": {"type": "number", "minimum": 0, "maximum": max_wait_s},
    }


DESCRIPTION = """Asynchronous model scoring: submit a job, then poll, wait, list or take a callback.

When the service has API keys configured, every endpoint except /health, /docs and /openapi.json needs
one, sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. A key has the role client (submit,
poll, list and cancel its tenant's jobs, read models and customers, /ready) or admin (also training jobs,
model activation and /metrics). A tenant sees only its own jobs: another tenant's job id answers 404.
Without keys the service is open. POST /jobs answers 429 with Retry-After when the model's queue is full
or the tenant is over its submission rate."""

ERASURE_DOC = """Extension, for operators (admin key). Erases, in the archive and in Redis, the job's input, whatever of
its result quotes it (a local explanation's reasons, a signup's room and unknown interests) and error messages;
keeps its id, model, version, task, status, times and anonymous outcome (decision, probability, threshold,
cluster, class) for decision statistics. A job not ended yet keeps its input until it ends and is erased when it
is archived (pending counts those)."""

CALLBACK_DOC = """Sent once the job has ended (succeeded, failed or canceled): the body is the job as GET
/jobs/{id} shows it. Verify `X-Scoring-Signature: t=<unix>,v1=<hex>`: the hex is HMAC-SHA256 with the shared
CALLBACK_SECRET over `<t>.<raw body>`; reject old timestamps. Delivery is at least once (deduplicate on the
job id) and retried with exponential backoff on any non-2xx answer or network error."""


def build_spec(max_wait_s: float = 30.0) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, for a service that holds ``?wait`` at most ``max_wait_s`` (MAX_WAIT_S)."""
    wire: list[type[BaseModel]] = [
        JobRequest,
        Job,
        JobList,
        ErrorBody,
        Customer,
        CustomerList,
        CallbackState,
        ActivateRequest,
        Erasure,
        DriftReport,
    ]
    inputs: list[type[BaseModel]] = [spec.input_model for spec in KINDS.values()]
    params = [model for spec in KINDS.values() for model in spec.tasks.values()]
    results = [model for spec in KINDS.values() for model in spec.result_models]
    _, top = models_json_schema(
        [(m, "validation") for m in dict.fromkeys([*wire, *inputs, *params, *results])], ref_template=REF
    )
    job = _json(_ref("Job"), "The job")
    location = {"Location": {"schema": {"type": "string"}, "description": "/jobs/{id}"}}
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    model_name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    paths: dict[str, dict[str, Any]] = {
        "/jobs": {
            "post": {
                "summary": "Submit a job",
                "operationId": "submitJob",
                "parameters": [
                    _wait_param(max_wait_s),
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": jobs.IDEMPOTENCY_KEY_RE.pattern},
                        "description": "Same key and body returns the same job; same key, other body is a 409.",
                    },
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("JobRequest")}}},
                "responses": {
                    "202": _json(_ref("Job"), "Accepted and queued", location),
                    "200": _json(_ref("Job"), "With ?wait: the job ended in time", location),
                    **_errors(400, 403, 404, 409, 413, 422, 429, 503),
                },
                "callbacks": {
                    "jobEnded": {
                        "{$request.body#/callback_url}": {
                            "post": {
                                "summary": "The job, once it has ended",
                                "description": CALLBACK_DOC,
                                "parameters": [
                                    {
                                        "name": "X-Scoring-Signature",
                                        "in": "header",
                                        "required": True,
                                        "schema": {"type": "string"},
                                        "description": "t=<unix>,v1=<hex>[,v1=...]",
                                    }
                                ],
                                "requestBody": {"content": {"application/json": {"schema": _ref("Job")}}},
                                "responses": {"2XX": {"description": "Delivered; any other answer is retried"}},
                            }
                        }
                    }
                },
            },
            "get": {
                "summary": "A tenant's jobs over any period, newest first (the prediction history)",
                "operationId": "listJobs",
                "description": "Jobs of the last JOB_TTL_S come from Redis, older ones that ended from the archive "
                "(kept ARCHIVE_RETENTION_DAYS); one cursor pages through both.",
                "parameters": [
                    {"name": "model", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "since",
                        "in": "query",
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "Extension: jobs created at or after this time (UTC unless it says otherwise).",
                    },
                    {
                        "name": "until",
                        "in": "query",
                        "schema": {"type": "string", "format": "date-time"},
                        "description": "Extension: jobs created before this time.",
                    },
                    {
                        "name": "customer_id",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": jobs.MAX_CUSTOMER_ID},
                        "description": "Extension: only the jobs whose input names this credit customer.",
                    },
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"enum": ["", *contract.STATUSES]},
                        "description": "Only jobs in this state; empty: any.",
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string", "pattern": _or_empty(jobs.CURSOR_RE.pattern)},
                        "description": "next_cursor of the previous page; empty: the first page.",
                    },
                ],
                "responses": {"200": _json(_ref("JobList"), "A page of jobs"), **_errors(422, 503)},
            },
        },
        "/jobs/{job_id}": {
            "get": {
                "summary": "Poll a job",
                "operationId": "getJob",
                "description": "A job that ended is read from the archive once Redis has forgotten it (after "
                "JOB_TTL_S), with the same body, for ARCHIVE_RETENTION_DAYS.",
                "parameters": [job_id, _wait_param(max_wait_s)],
                "responses": {"200": job, **_errors(404, 422, 503)},
            },
            "delete": {
                "summary": "Cancel a job that has not started",
                "operationId": "cancelJob",
                "description": "Extension: a running job of the heavy queue (an explanation) can be "
                "canceled too; it stops before its next chunk and no result is recorded. "
                "Other running or finished jobs answer 409.",
                "parameters": [job_id],
                "responses": {"200": job, **_errors(404, 409, 503)},
            },
        },
        "/jobs/{job_id}/inputs": {
            "delete": {
                "summary": "Erase one job's inputs (a signup's), in the archive and in Redis",
                "operationId": "eraseJobInputs",
                "description": ERASURE_DOC,
                "parameters": [job_id],
                "responses": {"200": _json(_ref("Erasure"), "What was erased"), **_errors(403, 404, 503)},
            }
        },
        "/customers": {
            "get": {
                "summary": "The credit model's customers, in id order; search them by id with id_prefix",
                "operationId": "listCustomers",
                "description": "Personal data: answered with Cache-Control: no-store and never logged.",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {
                        "name": "id_prefix",
                        "in": "query",
                        "schema": {"type": "string", "pattern": _or_empty(customers.CURSOR_RE.pattern)},
                        "description": "Extension: only customers whose id starts with these digits (1003 finds "
                        "1003, 10030-10039, 100300-100399, ...), paged with cursor like the full list; "
                        "empty: every customer.",
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string", "pattern": _or_empty(customers.CURSOR_RE.pattern)},
                        "description": "next_cursor of the previous page (the last customer id it showed); "
                        "empty: the first page.",
                    },
                ],
                "responses": {"200": _json(_ref("CustomerList"), "A page of customers"), **_errors(404, 422, 503)},
            }
        },
        "/customers/{customer_id}/jobs": {
            "delete": {
                "summary": "Erase the inputs of every job naming this credit customer",
                "operationId": "eraseCustomerJobs",
                "description": ERASURE_DOC,
                "parameters": [
                    {
                        "name": "customer_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": jobs.MAX_CUSTOMER_ID},
                    }
                ],
                "responses": {"200": _json(_ref("Erasure"), "What was erased"), **_errors(403, 404, 503)},
            }
        },
        "/customers/{customer_id}": {
            "get": {
                "summary": "One customer's features",
                "operationId": "getCustomer",
                "parameters": [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json(_ref("Customer"), "The customer"), **_errors(404, 503)},
            }
        },
        "/models": {
            "get": {
                "summary": "Models, their active versions and metrics",
                "operationId": "listModels",
                "responses": {"200": _json({"type": "object"}, "The models")},
            }
        },
        "/models/{name}": {
            "get": {
                "summary": "One model: versions, input schema, parameters, metrics",
                "operationId": "getModel",
                "description": "versions lists every stored version, newest first, with its manifest: sha256, "
                "library versions, input schema, tasks, metrics, creation time and whether it is "
                "active and loadable.",
                "parameters": [model_name],
                "responses": {"200": _json({"type": "object"}, "The model"), **_errors(404)},
            }
        },
        "/models/{name}/drift": {
            "get": {
                "summary": "Drift: recent inputs and predictions against the training data",
                "operationId": "getModelDrift",
                "description": "Extension. The population stability index per feature (numbers in the training "
                "data's decile bins, categories by share, missing values as a bin of their own) and of the "
                "predictions, over the archived predict jobs of the window (the newest DRIFT_MAX_JOBS at most); "
                "features above 0.25 with at least min_records records are flagged. Inputs count from every "
                "version's jobs, predictions from the reference version's. 409 if that version recorded no "
                "training distribution.",
                "parameters": [
                    model_name,
                    {
                        "name": "days",
                        "in": "query",
                        "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_WINDOW_DAYS},
                        "description": "The window, in days back from now (default DRIFT_WINDOW_DAYS).",
                    },
                    {
                        "name": "version",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "The reference version (default: the active one).",
                    },
                ],
                "responses": {"200": _json(_ref("DriftReport"), "The report"), **_errors(404, 409, 422, 503)},
            }
        },
        "/models/{name}/active": {
            "put": {
                "summary": "Activate a version (roll out or back)",
                "operationId": "activateModelVersion",
                "description": "Extension, for operators: new jobs use this version from now on; queued and running "
                "jobs keep the version they were submitted with, and workers load it on first use "
                "without a restart. A version whose artifact is refused cannot be activated (409).",
                "parameters": [model_name],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ActivateRequest")}}},
                "responses": {
                    "200": _json({"type": "object"}, "The model as GET /models shows it, and previous_version"),
                    **_errors(400, 404, 409, 422, 503),
                },
            }
        },
        "/health": {
            "get": {
                "summary": "The process is up",
                "operationId": "health",
                "responses": {"200": _json({"type": "object"}, "Up")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "description": "Jobs by model, task and final status; job duration and queue-wait histograms; "
                "depth, oldest job's age, throughput and suggested workers per queue; workers online. "
                "Counted in Redis, so every web process answers the same. Every tenant's traffic: "
                "an admin key when keys are configured.",
                "responses": {
                    "200": {
                        "description": "Prometheus text (OpenMetrics when asked for)",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(403, 503),
                },
            }
        },
        "/scaling": {
            "get": {
                "summary": "The autoscaling signal, per queue",
                "operationId": "scaling",
                "description": "Extension. suggested_workers = ceil((arrivals/s x mean job s + depth x mean job s / "
                "target wait) / pool size), within the configured bounds; see the README.",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["window_s", "queues"],
                            "properties": {
                                "window_s": {"type": "integer", "description": "Seconds of history behind the rates"},
                                "queues": {
                                    "type": "object",
                                    "additionalProperties": TypeAdapter(QueueSignal).json_schema(),
                                },
                            },
                        },
                        "Per queue: depth, oldest age, arrivals, throughput, workers, suggestion",
                    ),
                    **_errors(503),
                },
            }
        },
        "/ready": {
            "get": {
                "summary": "Broker reachable, models loadable, a worker on each queue",
                "operationId": "ready",
                "description": "status is degraded (still 200) while some model's artifact is refused: "
                "checks.models.unavailable lists it, and the other models serve.",
                "responses": {
                    "200": _json({"type": "object"}, "Ready, or degraded"),
                    "503": _json({"type": "object"}, "Not ready; the failing checks"),
                },
            }
        },
    }
    for path, item in paths.items():
        for operation in item.values():
            if path in auth.OPEN_PATHS:
                operation["security"] = []  # open even when keys are configured
            else:
                operation["responses"].update(_errors(401))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Scoring service", "version": "1.0.0", "description": DESCRIPTION},
        "paths": paths,
        "security": [{"bearerKey": []}, {"headerKey": []}],
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"},
                "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document."""
    spec = current_app.extensions.get("openapi_spec")
    if spec is None:
        spec = current_app.extensions["openapi_spec"] = build_spec(current_app.config["SETTINGS"].max_wait_s)
    return jsonify(spec)


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scoring service API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"});</script>
</body></html>"""


@bp.get("/docs")
def docs() -> Response:
    """Swagger UI over /openapi.json, served from local files."""
    return Response(_DOCS_PAGE, mimetype="text/html")


@bp.get("/docs/static/<path:filename>")
def docs_static(filename: str) -> Response:
    """Swagger UI's own assets."""
    return send_from_directory(SWAGGER_UI_DIST, filename, max_age=86400)
