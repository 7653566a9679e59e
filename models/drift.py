"""Drift: how far the inputs and predictions of recent jobs are from the training data (stdlib only).

Each version's manifest carries a reference (``details.drift_reference``,
written by its trainer with ``models.drift_reference``): per feature, the
training distribution as decile bins (numbers) or shares (categories), with the
share of missing values, and the same for the training data's predictions.
A window of archived jobs is binned the same way and compared with the
population stability index, PSI = sum of (window - reference) * ln(window / reference)
over the bins, a missing-value bin included (a feature that stops arriving
drifts too). Common reading: below 0.1 stable, 0.1 to 0.25 a moderate shift,
above 0.25 a significant one: those are flagged, given enough records.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from jobqueue.archive import Archive
from models.credit import customers
from models.credit.schema import KIND as CREDIT
from models.interests.schema import KIND as INTERESTS
from models.interests.schema import normalize_interest
from models.iris.schema import FEATURES as IRIS_FEATURES
from models.iris.schema import KIND as IRIS
from models.manifest import Manifest

THRESHOLD = 0.25
# Fewer records than this are reported, never flagged: their PSI is mostly sampling noise.
MIN_RECORDS = 30
# Shares are floored here so an empty bin on either side does not make the PSI infinite.
EPSILON = 1e-4
OTHER = "(other)"
REFERENCE_KEY = "drift_reference"


class ArchivedJob(Protocol):
    """What drift reads of an archived job (``jobqueue.archive.WindowRow``)."""

    @property
    def model_version(self) -> str: ...

    @property
    def request(self) -> Any: ...

    @property
    def outcome(self) -> Any: ...


def city_key(city: str) -> str:
    """Cities compare without case or surrounding spaces: 'Lisbon ' is 'lisbon'."""
    return city.strip().casefold()


def psi(reference: Sequence[float], window: Sequence[float]) -> float:
    """The population stability index of two distributions over the same bins (each summing to 1)."""
    total = 0.0
    for expected, actual in zip(reference, window, strict=True):
        expected, actual = max(expected, EPSILON), max(actual, EPSILON)
        total += (actual - expected) * math.log(actual / expected)
    return total


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _distributions(spec: dict[str, Any], values: Sequence[Any]) -> tuple[list[float], list[float], float]:
    """(reference bins, window bins, window's missing share); the last bin of each is the missing one."""
    missing_ref = float(spec.get("missing", 0.0))
    if spec["type"] == "numeric":
        edges = spec["edges"]
        reference = [share * (1 - missing_ref) for share in spec["shares"]] + [missing_ref]
        counts = [0] * (len(edges) + 2)
        for value in values:
            counts[bisect.bisect_left(edges, float(value)) if _is_number(value) else -1] += 1
    else:
        categories = list(spec["shares"])
        reference = [spec["shares"][c] * (1 - missing_ref) for c in categories] + [0.0, missing_ref]
        slot = {category: i for i, category in enumerate(categories)}
        counts = [0] * (len(categories) + 2)
        multi = spec.get("multi", False)
        for value in values:
            if value is None or (multi and not value):
                counts[-1] += 1
                continue
            # A multi-valued feature (a signup's interests) counts each value; its shares are of mentions.
            for item in value if multi else [value]:
                counts[slot.get(str(item), len(categories))] += 1
    if spec.get("multi"):
        # Missing is a share of records, the values a share of mentions: scale the values to fill the rest.
        present = sum(counts[:-1])
        missing_share = counts[-1] / len(values) if values else 0.0
        window = [(c / present) * (1 - missing_share) if present else 0.0 for c in counts[:-1]] + [missing_share]
    else:
        total = sum(counts)
        window = [c / total if total else 0.0 for c in counts]
        missing_share = window[-1]
    return reference, window, missing_share


def compare(spec: dict[str, Any], values: Sequence[Any]) -> dict[str, Any]:
    """One feature (or the prediction): its PSI against the reference, and the missing shares."""
    records = len(values)
    if records:
        reference, window, missing = _distributions(spec, values)
        value: float | None = round(psi(reference, window), 4)
    else:
        value, missing = None, 0.0
    return {
        "name": spec["name"],
        "type": spec["type"],
        "psi": value,
        "flagged": value is not None and value > THRESHOLD and records >= MIN_RECORDS,
        "records": records,
        "missing_share": {"reference": round(float(spec.get("missing", 0.0)), 4), "window": round(missing, 4)},
    }


# -- what each kind's records look like as features -------------------------------------------------
def _credit_values(manifest: Manifest, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [r["customer_id"] for r in records if r.get("customer_id") is not None]
    known = customers.fetch(manifest.file_path("customers"), manifest.details["id_column"], ids) if ids else {}
    rows = []
    for record in records:
        if record.get("customer_id") is not None:
            row = known.get(record["customer_id"])
            if row is not None:  # a customer this version's table lacks tells nothing about its inputs
                rows.append(row)
        else:
            rows.append(record.get("features") or {})
    return rows


def _interests_values(manifest: Manifest, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "interests": [normalize_interest(term) for term in record.get("interests", [])],
            "city": city_key(record["city"]) if isinstance(record.get("city"), str) else None,
        }
        for record in records
    ]


def _iris_values(manifest: Manifest, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Records are queued under the snake-case names whatever the client sent (models.validation).
    return [{name: record.get(name) for name in IRIS_FEATURES} for record in records]


def _as_sent(manifest: Manifest, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records


VALUES: dict[str, Callable[[Manifest, list[dict[str, Any]]], list[dict[str, Any]]]] = {
    CREDIT: _credit_values,
    INTERESTS: _interests_values,
    IRIS: _iris_values,
}


def _predictions(outcome: Any, name: str) -> list[Any]:
    outcomes = outcome if isinstance(outcome, list) else [outcome]
    found = []
    for item in outcomes:
        if isinstance(item, dict) and name in item:
            value = item[name]
            found.append(value if _is_number(value) and name == "probability" else str(value))
    return found


def drift_report(
    manifest: Manifest,
    jobs: Iterable[ArchivedJob],
    since: dt.datetime,
    until: dt.datetime,
    max_jobs: int,
) -> dict[str, Any]:
    """Inputs (of every version's jobs) and predictions (of this version's) in a window, against the training
    reference of ``manifest``. Raises LookupError if the version has no reference."""
    reference = manifest.details.get(REFERENCE_KEY)
    if not reference:
        raise LookupError(
            f"{manifest.name} {manifest.version} records no training distribution (it was trained before drift "
            "was watched); train a new version to compare against"
        )
    jobs = list(jobs)
    records: list[dict[str, Any]] = []
    predictions: list[Any] = []
    prediction_spec = reference.get("prediction")
    for job in jobs:
        if isinstance(job.request, dict):
            records += [r for r in job.request.get("records", []) if isinstance(r, dict)]
        if prediction_spec and job.model_version == manifest.version:
            predictions += _predictions(job.outcome, prediction_spec["name"])
    rows = VALUES.get(manifest.kind, _as_sent)(manifest, records) if records else []
    features = [compare(spec, [row.get(spec["name"]) for row in rows]) for spec in reference["features"]]
    prediction = compare(prediction_spec, predictions) if prediction_spec else None
    return {
        "model": manifest.name,
        "version": manifest.version,
        "window": {
            "since": since.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "until": until.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "jobs": len(jobs),
            "records": len(rows),
            "max_jobs": max_jobs,
            # The window was cut at the newest max_jobs jobs.
            "truncated": len(jobs) >= max_jobs,
        },
        "reference": {
            "version": manifest.version,
            "created_at": manifest.created_at,
            "rows": reference.get("rows"),
            "training_data": manifest.details.get("training_data"),
        },
        "threshold": THRESHOLD,
        "min_records": MIN_RECORDS,
        "features": features,
        "prediction": prediction,
        "flagged": [feature["name"] for feature in features if feature["flagged"]],
    }


def window_report(
    archive: Archive, manifest: Manifest, window_days: float, max_jobs: int, now: dt.datetime | None = None
) -> dict[str, Any]:
    """``drift_report`` over the archived jobs of the last ``window_days`` (the newest ``max_jobs`` at most)."""
    until = now or dt.datetime.now(dt.UTC)
    since = until - dt.timedelta(days=window_days)
    jobs = archive.window(manifest.name, int(since.timestamp() * 1_000_000), max_jobs)
    return drift_report(manifest, jobs, since, until, max_jobs)
