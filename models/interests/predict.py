"""Signup inference: interests -> vocabulary vector -> NMF weights (NNLS) -> cluster (from 1) and room."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from slugify import slugify

from models.interests.schema import normalize_interest
from models.interests.weights import cluster_weights
from models.loader import LoadedModel


def vectorize(records: list[dict[str, Any]], vocabulary: list[str]) -> tuple[np.ndarray, list[list[str]]]:
    """One 0/1 row per user over the vocabulary, and each user's interests the vocabulary lacks."""
    index = {term: i for i, term in enumerate(vocabulary)}
    matrix = np.zeros((len(records), len(vocabulary)), dtype=np.float32)
    unknown: list[list[str]] = []
    for row, record in enumerate(records):
        missing = []
        for term in record["interests"]:
            column = index.get(normalize_interest(term))
            if column is None:
                missing.append(term)
            else:
                matrix[row, column] = 1.0
        unknown.append(missing)
    return matrix, unknown


@functools.lru_cache(maxsize=4096)
def city_slug(city: str) -> str:
    """The room prefix of a city; cached because slugify costs more than scoring a user."""
    return slugify(city)


def predict(model: LoadedModel, records: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Cluster every record with one call of the weights solver; results in the records' order."""
    matrix, unknown = vectorize(records, model.manifest.details["vocabulary"])
    weights = cluster_weights(model.estimator, matrix)
    totals = weights.sum(axis=1, keepdims=True)
    shares = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    clusters = (weights.argmax(axis=1) + 1).tolist()  # clusters are numbered from 1, never 0
    names = [str(c + 1) for c in range(weights.shape[1])]
    results = []
    # Rounded and converted to Python floats in one numpy call, not per score.
    for record, cluster, row_shares, missing in zip(
        records, clusters, np.round(shares, 4).tolist(), unknown, strict=True
    ):
        results.append(
            {
                "cluster": cluster,
                "room": f"{city_slug(record['city'])}-{cluster}",
                "scores": dict(zip(names, row_shares, strict=True)),
                "unknown_interests": missing,
            }
        )
    return results
