"""The job contract's vocabulary: the states the API documents are the states the store writes."""

from __future__ import annotations

from typing import get_args

from jobqueue import contract
from web.schemas import Status


def test_the_api_documents_exactly_the_states_jobs_can_be_in() -> None:
    assert set(get_args(Status)) == set(contract.STATUSES)
    assert set(contract.STATUSES) > contract.TERMINAL
