"""Request validation against a model's schema: one clear detail per bad field, no services needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.validation import InputInvalid, validate_job
from tests.support.data import store_at


@pytest.fixture(scope="module")
def manifest(model_dir: Path):
    return store_at(model_dir).manifest("interests")


def _fields(excinfo: pytest.ExceptionInfo[InputInvalid]) -> list[str]:
    return [d["field"] for d in excinfo.value.details]


def test_valid_signup_is_normalised(manifest) -> None:
    job = validate_job(manifest, "predict", [{"interests": [" surfing "], "city": " Lisbon "}], False, None)
    assert job.records == [{"interests": ["surfing"], "city": "Lisbon"}]
    assert job.batch is False and job.params == {}


def test_each_bad_field_gets_its_own_detail(manifest) -> None:
    records = [{"interests": ["jazz"], "city": "Paris"}, {"interests": [], "city": "!!"}, {"city": 3, "age": 1}]
    with pytest.raises(InputInvalid) as excinfo:
        validate_job(manifest, "predict", records, True, None)
    assert _fields(excinfo) == [
        "inputs.1.interests",
        "inputs.1.city",
        "inputs.2.interests",
        "inputs.2.city",
        "inputs.2.age",
    ]
    assert all(d["message"] for d in excinfo.value.details)


def test_user_with_no_known_interest_is_rejected(manifest) -> None:
    with pytest.raises(InputInvalid) as excinfo:
        validate_job(manifest, "predict", [{"interests": ["knitting", "origami"], "city": "Oslo"}], False, None)
    assert _fields(excinfo) == ["input.interests"]
    assert "vocabulary" in excinfo.value.details[0]["message"]


def test_unknown_task_and_unexpected_params_are_rejected(manifest) -> None:
    with pytest.raises(InputInvalid) as excinfo:
        validate_job(manifest, "explain", [{"interests": ["jazz"], "city": "Paris"}], False, None)
    assert _fields(excinfo) == ["task"] and "predict" in excinfo.value.details[0]["message"]
    with pytest.raises(InputInvalid) as excinfo:
        validate_job(manifest, "predict", [{"interests": ["jazz"], "city": "Paris"}], False, {"threshold": 1})
    assert _fields(excinfo) == ["params.threshold"]
