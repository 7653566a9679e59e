"""The ``limit`` and ``cursor`` query parameters of the listing routes, checked in one place."""

from __future__ import annotations

import re
from typing import Any

from flask import request

MAX_LIMIT = 100
FieldError = dict[str, str]


def page_args(cursor_re: re.Pattern[str], default_limit: int = 20) -> tuple[int, str | None, list[FieldError]]:
    """(limit, cursor or None, problems): ``limit`` from 1 to 100, ``cursor`` matching ``cursor_re`` in full."""
    problems: list[FieldError] = []
    raw: Any = request.args.get("limit", default_limit)
    try:
        limit = int(raw)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        problems.append({"field": "limit", "type": "out_of_range", "message": f"an integer from 1 to {MAX_LIMIT}"})
        limit = default_limit
    cursor = request.args.get("cursor") or None
    if cursor is not None and not cursor_re.fullmatch(cursor):
        problems.append({"field": "cursor", "type": "invalid", "message": "use next_cursor from a previous page"})
    return limit, cursor, problems
