"""Cluster weights of users: the exact non-negative least-squares fit of each user onto the NMF components.

For a trained pipeline (an l2 Normalizer, then an NMF without regularisation)
``NMF.transform`` solves, per user, min ||x - w H||² over w >= 0, iterating
coordinate descent to a tolerance. scikit-learn's checks around that cost about
1.3 ms per call whatever its size, most of a single signup's time in a worker.
scipy's NNLS solves the same problem exactly in about 10 µs per user, so the
weights match ``transform``'s to its tolerance (tests compare them). A pipeline
of any other shape goes through its own ``transform``.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def nnls_components(estimator: Any) -> np.ndarray | None:
    """The NMF components as columns, if ``estimator`` has the shape NNLS reproduces exactly; else None."""
    # Imported here, not at the top: a worker's main process imports the predictors but only
    # its pool processes score, and scikit-learn would add ~100 MB to the main process.
    from sklearn.decomposition import NMF
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import Normalizer

    if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
        return None
    normalizer, nmf = (step for _, step in estimator.steps)
    if not (isinstance(normalizer, Normalizer) and normalizer.norm == "l2" and isinstance(nmf, NMF)):
        return None
    # Regularised weights or another loss are a different problem from least squares.
    if nmf.alpha_W or nmf.beta_loss not in ("frobenius", 2):
        return None
    return np.asarray(nmf.components_, dtype=np.float64).T


def cluster_weights(estimator: Any, matrix: np.ndarray) -> np.ndarray:
    """One row of non-negative cluster weights per row of ``matrix`` (users × vocabulary)."""
    from scipy.optimize import nnls

    components = nnls_components(estimator)
    if components is None:
        return estimator.transform(matrix)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    rows = np.divide(matrix, norms, out=np.zeros(matrix.shape), where=norms > 0)  # as Normalizer does
    weights = np.zeros((len(rows), components.shape[1]))
    for i, row in enumerate(rows):
        weights[i] = nnls(components, row)[0]
    return weights
