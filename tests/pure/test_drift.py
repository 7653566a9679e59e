"""Drift arithmetic and what an archived job keeps: training references, PSI, flags, anonymous outcomes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from jobqueue.archive_rows import anonymous, anonymous_error, customer_ids
from models.drift import MIN_RECORDS, compare, drift_report, psi
from models.drift_reference import categorical, numeric
from models.manifest import Manifest

RNG = np.random.default_rng(0)
TRAINING = RNG.lognormal(11, 0.5, 5000)


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift() -> None:
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0
    small, large = psi([0.5, 0.5], [0.45, 0.55]), psi([0.5, 0.5], [0.1, 0.9])
    assert 0 < small < 0.1 < 0.25 < large
    assert psi([0.5, 0.5, 0.0], [0.5, 0.0, 0.5]) < 10  # empty bins are floored, never infinite


def test_a_sample_of_the_training_data_is_stable_and_the_same_tripled_is_flagged() -> None:
    reference = numeric("income", TRAINING)
    assert len(reference["edges"]) == 9 and sum(reference["shares"]) == pytest.approx(1, abs=1e-5)
    sample = list(RNG.choice(TRAINING, 400))
    stable, tripled = compare(reference, sample), compare(reference, [3 * value for value in sample])
    assert stable["psi"] < 0.1 and not stable["flagged"]
    assert tripled["psi"] > 1 and tripled["flagged"] and tripled["records"] == 400


def test_values_that_stop_arriving_drift_and_the_missing_shares_are_reported() -> None:
    reference = numeric("income", np.append(TRAINING, [np.nan] * 50))
    assert reference["missing"] == pytest.approx(50 / 5050, abs=1e-6)
    report = compare(reference, [None] * 100)
    assert report["flagged"] and report["missing_share"] == {"reference": 0.0099, "window": 1.0}


def test_ties_share_bins_as_bisect_places_them() -> None:
    reference = numeric("children", [0] * 60 + [1] * 25 + [2] * 15)
    assert reference["edges"] == [0.0, 1.0, 2.0] and reference["shares"] == [0.6, 0.25, 0.15, 0.0]
    assert compare(reference, [0] * 60 + [1] * 25 + [2] * 15)["psi"] == 0


def test_categories_never_seen_in_training_go_to_one_other_bin() -> None:
    reference = categorical("city", ["lisbon"] * 50 + ["paris"] * 50)
    assert compare(reference, ["lisbon", "paris"] * 20)["psi"] == 0
    assert compare(reference, ["reykjavik"] * 40)["flagged"]
    interests = categorical("interests", [["jazz", "chess"], ["jazz"], []], multi=True)
    assert interests["shares"] == {"chess": pytest.approx(1 / 3, abs=1e-5), "jazz": pytest.approx(2 / 3, abs=1e-5)}
    assert interests["missing"] == pytest.approx(1 / 3, abs=1e-5)
    assert compare(interests, [["jazz", "chess"], ["jazz"], []])["psi"] == pytest.approx(0, abs=1e-4)


def test_a_handful_of_records_is_reported_but_never_flagged() -> None:
    reference = categorical("city", ["lisbon"] * 100)
    few = compare(reference, ["reykjavik"] * (MIN_RECORDS - 1))
    assert few["psi"] > 0.25 and not few["flagged"]
    assert compare(reference, [])["psi"] is None


def test_a_version_trained_without_a_reference_says_so() -> None:
    manifest = Manifest("old", "2026-01-01.1", "iris-classifier", "model.joblib", "0" * 64, {}, "", ("predict",))
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(LookupError, match="train a new version"):
        drift_report(manifest, [], now, now, 10)
    assert Path(manifest.artifact).name == "model.joblib"


def test_what_an_erased_job_keeps_is_its_decision() -> None:
    assert anonymous({"probability": 0.2, "threshold": 0.5, "decision": "accepted"}) == {
        "probability": 0.2,
        "threshold": 0.5,
        "decision": "accepted",
    }
    local = {"customer_id": 7, "base_value": -3.1, "probability": 0.06, "top_reasons": [{"value": 99300}]}
    assert anonymous(local) == {"probability": 0.06}
    signups = [{"cluster": 2, "room": "lisbon-2", "unknown_interests": ["knitting"]}, {"cluster": 1, "room": "x-1"}]
    assert anonymous(signups) == [{"cluster": 2}, {"cluster": 1}]
    assert anonymous({"importance": {"AMT_CREDIT": 0.4}}) is None and anonymous(None) is None
    assert anonymous_error({"type": "timeout", "message": "customer 7 took too long"})["type"] == "timeout"
    assert customer_ids({"records": [{"customer_id": 7}, {"customer_id": True}, {"features": {}}]}) == {7}
