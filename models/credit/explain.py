"""SHAP explanations of the credit model, per original feature (imports shap: heavy workers only).

TreeExplainer runs on the boosted trees over the preprocessed matrix, so the
values are exact (tree path dependent) and in the model's raw output, log-odds
of default: ``base_value + sum(contributions) == log_odds``. The one-hot columns
of a categorical feature are summed back into that feature, so a dashboard
sees NAME_EDUCATION_TYPE rather than NAME_EDUCATION_TYPE_Higher education.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shap
from scipy.special import expit

from models.credit import customers
from models.credit.predict import customer_frame, frame_for, log_odds
from models.loader import LoadedModel


class CreditExplainer:
    """A TreeExplainer for one model version, and the map from its columns back to the features."""

    def __init__(self, model: LoadedModel) -> None:
        self.features = [f["name"] for f in model.manifest.details["features"]]
        self.preprocess = model.estimator[:-1]
        self.tree = shap.TreeExplainer(model.estimator[-1])
        owners = _column_owners(model.estimator.named_steps["preprocess"])
        # (columns x features) 0/1 matrix: SHAP values @ it sums one-hot columns per feature.
        self.fold = np.zeros((len(owners), len(self.features)))
        self.fold[np.arange(len(owners)), [self.features.index(o) for o in owners]] = 1.0
        self.base_value = float(np.ravel(self.tree.expected_value)[0])

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """SHAP values per original feature, one row per applicant (log-odds)."""
        values = self.tree.shap_values(self.preprocess.transform(frame))
        return np.asarray(values) @ self.fold


def _column_owners(preprocess: Any) -> list[str]:
    """The original feature behind each column the preprocessing outputs, in output order.

    Reads the step names models.credit.train.build_pipeline gives: "numeric"
    (one column per feature) and "categorical" (one per category).
    """
    owners: list[str] = []
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder":
            continue
        if name == "categorical":
            for column, categories in zip(columns, transformer.named_steps["onehot"].categories_, strict=True):
                owners += [column] * len(categories)
        else:
            owners += list(columns)
    if len(owners) != len(preprocess.get_feature_names_out()):
        raise ValueError("the preprocessing's columns cannot be traced back to features; was the pipeline changed?")
    return owners


_explainers: dict[tuple[str, str], CreditExplainer] = {}
_lock = threading.Lock()


def explainer_for(model: LoadedModel) -> CreditExplainer:
    """One explainer per model version and process (building it walks every tree)."""
    key = (model.manifest.name, model.manifest.version)
    with _lock:
        if key not in _explainers:
            _explainers[key] = CreditExplainer(model)
        return _explainers[key]


def local(model: LoadedModel, records: list[dict[str, Any]], top: int = 5) -> list[dict[str, Any]]:
    """Why each applicant got their score: contributions, base value, probability and the top reasons."""
    explainer = explainer_for(model)
    frame = frame_for(model, records)
    values = explainer.contributions(frame)
    probabilities = expit(log_odds(model, frame))
    results = []
    for row, record in enumerate(values):
        order = np.argsort(-np.abs(record))[:top]
        raw = frame.iloc[row]
        results.append(
            {
                "customer_id": records[row].get("customer_id"),
                "base_value": explainer.base_value,
                "contributions": {name: float(v) for name, v in zip(explainer.features, record, strict=True)},
                "probability": float(probabilities[row]),
                "top_reasons": [
                    {
                        "feature": explainer.features[i],
                        "value": _plain(raw.iloc[i]),
                        "contribution": float(record[i]),
                        "effect": "raises_risk" if record[i] > 0 else "lowers_risk",
                    }
                    for i in order
                ],
            }
        )
    return results


def _plain(value: Any) -> Any:
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def sample_ids(model: LoadedModel, size: int, seed: int) -> np.ndarray:
    """A seeded random sample of customer ids (all of them if there are fewer), in id order."""
    ids = np.array(customers.all_ids(model.manifest.file_path("customers"), model.manifest.details["id_column"]))
    chosen = np.random.default_rng(seed).choice(ids, size=min(size, len(ids)), replace=False)
    return np.sort(chosen)


def abs_sums(model: LoadedModel, ids: Sequence[int] | np.ndarray) -> list[float]:
    """Per feature, the sum of |SHAP| over these customers (a chunk of a global explanation)."""
    values = explainer_for(model).contributions(customer_frame(model, ids))
    sums: list[float] = np.abs(values).sum(axis=0).tolist()
    return sums


def importance(model: LoadedModel, sums: Sequence[float], count: int) -> dict[str, float]:
    """Mean |SHAP| per feature, largest first."""
    features = explainer_for(model).features
    means = {name: float(total) / max(count, 1) for name, total in zip(features, sums, strict=True)}
    return dict(sorted(means.items(), key=lambda item: -item[1]))
