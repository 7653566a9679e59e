"""Every failure becomes the contract's JSON error body; no traceback ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from jobqueue.logs import exception_fields

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a machine-readable type and a message a person can act on."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.details = details or []
        self.headers = headers or {}


# A batch of 10,000 bad records has at least as many problems, 3.4 MB of details: an error
# lists the first MAX_ERROR_DETAILS and counts the rest in details_omitted, a key it has only
# then, so every other error body is exactly the contract's.
MAX_ERROR_DETAILS = 100


def error_response(
    status: int,
    type_: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build the error body ``{"error": {"type", "message", "details"}}``, with ``details_omitted`` if cut."""
    details = details or []
    error: dict[str, Any] = {"type": type_, "message": message, "details": details[:MAX_ERROR_DETAILS]}
    if len(details) > MAX_ERROR_DETAILS:
        error["details_omitted"] = len(details) - MAX_ERROR_DETAILS
    response = jsonify({"error": error})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def broker_unavailable(retry_after_s: int, timed_out: bool = False) -> ApiError:
    """The 503 for a lost Redis: try again later.

    Refused, nothing was accepted. Timed out (Redis frozen, packets dropped),
    the command may still run when Redis resumes, so the message says to retry
    with the same Idempotency-Key, which then returns that job.
    """
    message = (
        "the job queue did not answer in time; retry later with the same Idempotency-Key, which returns the job "
        "if Redis recorded it after all"
        if timed_out
        else "the job queue cannot be reached; nothing was accepted, retry later"
    )
    return ApiError(503, "broker_unavailable", message, headers={"Retry-After": str(retry_after_s)})


_HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def register_error_handlers(app: Flask) -> None:
    """Route every exception through the JSON error body."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.type, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            message = f"the body exceeds the limit of {app.config['MAX_CONTENT_LENGTH']} bytes"
        response = error_response(status, _HTTP_TYPES.get(status, "http_error"), message)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(OperationalError)
    def _broker_down(exc: Exception) -> Response:
        log.warning("redis unavailable: %s", exc)
        error = broker_unavailable(app.config["SETTINGS"].retry_after_s, isinstance(exc, redis.TimeoutError))
        return error_response(error.status, error.type, error.message, headers=error.headers)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _registry_down(exc: Exception) -> Response:
        log.warning("model registry unavailable: %s", type(exc).__name__)
        retry = str(app.config["SETTINGS"].retry_after_s)
        return error_response(
            503,
            "registry_unavailable",
            "the model registry cannot be reached; nothing was changed or accepted, retry later",
            headers={"Retry-After": retry},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.error("unhandled_error", extra=exception_fields(exc))
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
