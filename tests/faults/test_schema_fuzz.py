"""Fault 8: bad input at volume. Schemathesis generates requests from /openapi.json, fitting it and
not, and calls the Flask app directly (WSGI); no answer may be a 5xx or break the spec.

A real worker consumes what gets accepted, so /ready is ready and job ids are
real. The operations are walked in a plain test with Hypothesis rather than
through schemathesis's pytest plugin, whose lazy fixture loading does not run
on this pytest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from jobqueue import contract
from tests.support.data import registry_settings
from web.app import create_app

pytestmark = pytest.mark.faults

EXAMPLES = 25
ADMIN_KEY = "fuzz-admin-key-0123456789"
# A job body that fits the spec may still be refused with the documented 422:
# whether a model has the task, and the record its fields, is the model's call
# (an unknown customer id is a well-formed integer).
SEMANTIC_422 = {"POST /jobs": [checks.positive_data_acceptance]}


def _fuzzer(operation: Any, mode: GenerationMode) -> Callable[[], None]:
    """A Hypothesis test that calls ``operation`` with generated requests and checks each answer."""
    excluded = SEMANTIC_422.get(operation.label, [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, excluded_checks=excluded)

    return call


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_generated_requests_get_no_server_error_and_answers_that_fit_the_spec(
    fault_settings, start_worker, model_copy, mode: GenerationMode
) -> None:
    start_worker(fault_settings, queues=",".join(contract.QUEUES), concurrency=1)
    # Keys on, as in production (schemathesis also checks that requests without one are refused);
    # ?wait is bounded by the settings, and the spec says so: keep generated waits short. The erasures it
    # asks for are recorded in a registry copy of its own, not in the one later tests copy.
    settings = registry_settings(fault_settings, model_copy)
    app = create_app(settings.replace(max_wait_s=1.0, api_keys=f"admin:fuzz:{ADMIN_KEY}"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        try:
            _fuzzer(operation, mode)()
        except Unsatisfiable:
            # Nothing in this operation's spec can be broken (no input, or free-form strings only).
            assert mode == GenerationMode.NEGATIVE, operation.label
