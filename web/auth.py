"""Roles and tenants: who may call what, decided in one place before every request.

Rules, when API keys are configured (``web.api_keys``):
- ``OPEN_PATHS`` need no key: liveness, the API description (the contract
  is not secret, and Swagger UI must load before a key can be typed into it),
  and the page at / with its static files (it asks for the key itself).
- ``ADMIN_PATHS`` and views or blueprints marked with ``require_role(ADMIN)``
  or ``restrict_blueprint(bp, ADMIN)`` need an admin key; so does submitting
  an ``ADMIN_TASKS`` job.
- everything else, unknown paths included, needs a client or admin key.
The caller's tenant decides which jobs they see. With no keys configured the
service is open: every caller is an admin of the one anonymous tenant "".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, current_app, g, request

from jobqueue.settings import Settings
from web.api_keys import ADMIN, CLIENT, ApiKey, identify, parse_api_keys
from web.errors import ApiError

log = logging.getLogger(__name__)

RANK = {CLIENT: 1, ADMIN: 2}  # an admin may do everything a client may
OPEN_PATHS = frozenset({"/health", "/", "/docs", "/openapi.json"})
OPEN_PREFIXES = ("/docs/static/", "/static/")
# Prometheus text shows every tenant's traffic, so it is an operator's view.
ADMIN_PATHS = frozenset({"/metrics"})
ADMIN_TASKS = frozenset({"train"})

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and the tenant whose jobs they see."""

    role: str
    tenant: str

    def may(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


OPEN = Principal(ADMIN, "")


def _presented() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key") or None


def _unauthorized(message: str, error: str) -> ApiError:
    return ApiError(
        401, "unauthorized", message, headers={"WWW-Authenticate": f'Bearer realm="scoring", error="{error}"'}
    )


def _authenticate() -> None:
    keys: tuple[ApiKey, ...] = current_app.extensions["api_keys"]
    if not keys:
        g.principal = OPEN
        return
    # A CORS preflight never carries credentials: it only learns what is allowed, and runs no view.
    if request.method == "OPTIONS" or _is_open(request.path):
        return
    presented = _presented()
    if presented is None:
        raise _unauthorized(
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'", "invalid_request"
        )
    key = identify(keys, presented)
    if key is None:
        raise _unauthorized("the API key is not valid", "invalid_token")
    g.principal = Principal(key.role, key.tenant)
    if request.path in ADMIN_PATHS:
        check_role(ADMIN)


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def principal() -> Principal:
    """The caller of the current request (only views that need a key may ask)."""
    found: Principal | None = g.get("principal")
    if found is None:
        raise RuntimeError(f"{request.path} asks who is calling, but it is not authenticated; see web.auth")
    return found


def check_role(role: str, what: str = "this endpoint") -> None:
    """403 unless the caller's key has ``role`` (or a higher one)."""
    if not principal().may(role):
        raise ApiError(403, "forbidden", f"{what} needs a key with role {role}; this key has role {principal().role}")


def require_role(role: str) -> Callable[[View], View]:
    """Decorator: the view needs a key with ``role``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_role(role)
            return view(*args, **kwargs)

        return cast(View, guarded)  # wraps keeps the signature, which its own type does not say

    return decorate


def restrict_blueprint(blueprint: Blueprint, role: str) -> None:
    """Every view of ``blueprint`` needs a key with ``role`` (runs after the app-wide authentication)."""
    blueprint.before_request(lambda: None if request.method == "OPTIONS" else check_role(role))


def install(app: Flask, settings: Settings) -> None:
    """Authenticate every request of ``app``; without keys, say loudly that the service is open."""
    keys = parse_api_keys(settings.api_keys)
    app.extensions["api_keys"] = keys
    app.before_request(_authenticate)
    if keys:
        log.info("API keys required: %d keys for %d tenants", len(keys), len({k.tenant for k in keys}))
    else:
        log.warning(
            "OPEN MODE: no API_KEYS configured, so anyone who can reach this service may submit, "
            "read and cancel every job and train models; set API_KEYS before exposing it"
        )
