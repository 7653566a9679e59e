"""Request bodies: a JSON object nested at most MAX_JSON_DEPTH levels deep, or a 400 saying what is wrong."""

from __future__ import annotations

from typing import Any

import pydantic_core
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from web.errors import ApiError

# Arrays and objects inside one another, the body itself being level 1. A job is
# four levels deep (body, inputs, record, a feature's list); the limit leaves room
# for parameters while staying far below where the parser (about 200 levels) and
# pydantic's serializer (255) give up, so a deeper body is a 400, never a 500.
MAX_JSON_DEPTH = 64


def parse_json_body() -> dict[str, Any]:
    """The request body as a JSON object; 400 ``invalid_json`` otherwise (also used by the admin routes)."""
    raw = read_body()
    # pydantic's parser stops at its own nesting limit with a ValueError, where the
    # standard library's recurses until a RecursionError; it also refuses what the
    # contract's UTF-8 JSON cannot carry (lone surrogates, other encodings).
    try:
        body = pydantic_core.from_json(raw)
    except ValueError as exc:
        if str(exc).startswith("recursion limit exceeded"):
            raise too_deep() from exc
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise too_deep()
    return body


def read_body() -> bytes:
    """The whole body, or 413 when it exceeds MAX_CONTENT_LENGTH, whether or not it came with a Content-Length.

    Werkzeug refuses a Content-Length over the limit, but a chunked body it
    only stops reading at the limit, silently: the first 2 MiB of a larger body
    would be taken for the whole. Allowing one byte more and counting tells a
    body of exactly the limit from a longer one.
    """
    limit: int = current_app.config["MAX_CONTENT_LENGTH"]
    request.max_content_length = limit + 1
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    return raw


def too_deep() -> ApiError:
    """The 400 of a body nested deeper than MAX_JSON_DEPTH."""
    return ApiError(400, "invalid_json", f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep")


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds arrays and objects more than ``limit`` levels deep (``value`` is level 1).

    Level by level rather than recursively, so no depth of input can exhaust the
    stack; a 10,000-record batch (four levels) costs about 5 ms.
    """
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True
