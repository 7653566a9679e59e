"""The Python client against real workers: submit, then wait for the result."""

from __future__ import annotations

import pytest

from jobqueue.settings import Settings
from scoring_client import ApiError, ScoringClient
from tests.support.data import ACME, GLOBEX, SIGNUP
from tests.support.servers import serve_app
from web.app import create_app


def test_submit_and_wait_for_the_result(settings: Settings, worker_process: object) -> None:
    with serve_app(create_app(settings.replace(api_keys=f"client:acme:{ACME}"))) as url:
        client = ScoringClient(url, api_key=ACME)
        job = client.wait(client.submit(SIGNUP)["id"], timeout_s=20)
        assert job["status"] == "succeeded" and job["result"]["room"].startswith("lisbon-")
        assert [j["id"] for j in client.jobs(status="succeeded")["jobs"]] == [job["id"]]
        with pytest.raises(ApiError) as refused:
            ScoringClient(url, api_key=GLOBEX).get(job["id"])
        assert refused.value.status == 401 and refused.value.type == "unauthorized"
