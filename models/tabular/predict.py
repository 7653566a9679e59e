"""Classifying records: feature values in the manifest's order -> most probable class and every probability."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.loader import LoadedModel


def classify(model: LoadedModel, records: list[dict[str, Any]]) -> list[tuple[str, dict[str, float]]]:
    """(class, probability per class) for every record, in one vectorised call; records keyed by feature name."""
    names = [f["name"] for f in model.manifest.details["features"]]
    X = np.array([[record[name] for name in names] for record in records], dtype=float)
    proba = model.estimator.predict_proba(X)
    classes = [str(c) for c in model.estimator.classes_]
    # The class is the argmax of the probabilities returned, so the two never disagree.
    return [
        (classes[int(row.argmax())], {c: round(float(p), 4) for c, p in zip(classes, row, strict=True)})
        for row in proba
    ]


def predict(model: LoadedModel, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A tabular classifier's results: ``{"class", "probabilities"}`` per record."""
    return [{"class": label, "probabilities": probabilities} for label, probabilities in classify(model, records)]
