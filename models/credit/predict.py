"""Credit scoring: records (customer ids or raw features) -> feature frame -> probability of default -> decision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from models.credit import customers
from models.loader import LoadedModel


class UnknownCustomer(LookupError):
    """A customer id the model version's customer table lacks."""


def prepare(frame: pd.DataFrame, features: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The model's columns in training order and types: floats, or objects with NaN for missing."""
    out = pd.DataFrame(index=frame.index)
    for feature in features:
        name = feature["name"]
        column = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
        if feature["type"] == "numeric":
            out[name] = pd.to_numeric(column, errors="raise").astype(float)
        else:
            # One missing marker (NaN) for the imputer, whatever the source used (None, pd.NA).
            out[name] = column.astype(object).where(column.notna(), np.nan)
    return out


def frame_for(model: LoadedModel, records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Feature rows for ``records``, in their order; customer ids are read from the customer table."""
    details = model.manifest.details
    ids = [r["customer_id"] for r in records if r.get("customer_id") is not None]
    known = customers.fetch(model.manifest.file_path("customers"), details["id_column"], ids) if ids else {}
    rows = []
    for record in records:
        if record.get("customer_id") is None:
            rows.append(record["features"])
        elif record["customer_id"] in known:
            rows.append(known[record["customer_id"]])
        else:
            raise UnknownCustomer(f"unknown customer {record['customer_id']}")
    names = [f["name"] for f in details["features"]]
    return prepare(pd.DataFrame.from_records(rows, columns=names), details["features"])


def customer_frame(model: LoadedModel, ids: Iterable[int]) -> pd.DataFrame:
    """Feature rows of known customers, in ``ids`` order."""
    return frame_for(model, [{"customer_id": int(i)} for i in ids])


def log_odds(model: LoadedModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's raw output (log-odds of default), which SHAP values add up to."""
    raw: np.ndarray = model.estimator.decision_function(frame)
    return raw


def predict(model: LoadedModel, records: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Probability of default and the decision against the threshold, per record, in order."""
    threshold = params.get("threshold")
    if threshold is None:
        threshold = model.manifest.metrics["recommended_threshold"]
    probabilities = expit(log_odds(model, frame_for(model, records)))
    return [
        {"probability": float(p), "threshold": threshold, "decision": "refused" if p >= threshold else "accepted"}
        for p in probabilities
    ]
