"""Request bodies through a real gunicorn: a chunked body over MAX_REQUEST_BYTES is a 413 as one with a Content-Length is.

Gunicorn decodes ``Transfer-Encoding: chunked`` itself and hands the app a
stream without a length; the Flask test client cannot show what it does.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from jobqueue.settings import Settings
from tests.support.data import SIGNUP
from tests.support.processes import WebProcess

CHUNK = 64 * 1024


def _padded(size: int) -> bytes:
    """A signup followed by spaces up to ``size`` bytes: valid JSON wherever it is cut past the object."""
    text = json.dumps(SIGNUP).encode()
    return text + b" " * (size - len(text))


def _post(url: str, body: bytes, chunked: bool) -> tuple[int, Any]:
    """POST /jobs over a fresh connection, chunked (no Content-Length) or with a Content-Length."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), CHUNK):
            yield body[start : start + CHUNK]

    try:
        # An iterable body without a Content-Length goes out with Transfer-Encoding: chunked.
        connection.request(
            "POST", "/jobs", body=chunks() if chunked else body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _jobs(url: str) -> list[dict[str, Any]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", "/jobs")
        jobs: list[dict[str, Any]] = json.loads(connection.getresponse().read())["jobs"]
        return jobs
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("extra", "status"), [(-1, 202), (0, 202), (1, 413), (1_000_000, 413)], ids=["limit-1", "limit", "limit+1", "+1MB"]
)
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_body_over_the_limit_is_413_however_it_is_framed(
    web_server: WebProcess, settings: Settings, chunked: bool, extra: int, status: int
) -> None:
    answered, body = _post(web_server.url, _padded(settings.max_request_bytes + extra), chunked)
    assert answered == status, body
    if status == 413:
        assert body["error"]["type"] == "payload_too_large"
        assert _jobs(web_server.url) == []
    else:
        assert [job["id"] for job in _jobs(web_server.url)] == [body["id"]]
