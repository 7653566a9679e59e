"""Fitting a classifier on numeric features: a cross-validated grid search, then scores on held-out rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

MIN_ROWS_PER_CLASS = 10


def candidates(estimator: str, seed: int) -> tuple[Pipeline, dict[str, list[Any]]]:
    """The pipeline of an estimator and the grid searched over it.

    Missing values are imputed with the training median; SVM and logistic
    regression need scaled features, the forest does not.
    """
    impute = ("impute", SimpleImputer(strategy="median"))
    if estimator == "svm":
        return (
            Pipeline([impute, ("scale", StandardScaler()), ("model", SVC(kernel="rbf", random_state=seed))]),
            {"model__C": [0.1, 1.0, 10.0, 100.0], "model__gamma": ["scale", 0.01, 0.1, 1.0]},
        )
    if estimator == "logreg":
        return (
            Pipeline([impute, ("scale", StandardScaler()), ("model", LogisticRegression(max_iter=2000))]),
            {"model__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
        )
    if estimator == "forest":
        return (
            Pipeline([impute, ("model", RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1))]),
            {"model__max_depth": [None, 4, 8], "model__min_samples_leaf": [1, 5]},
        )
    raise ValueError(f"unknown estimator {estimator!r}; choose svm, logreg or forest")


def check_target(y: np.ndarray) -> None:
    """At least two classes, each with enough rows to stratify the split and the folds."""
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError("the target has a single class; a classifier needs at least two")
    if counts.min() < MIN_ROWS_PER_CLASS:
        raise ValueError(
            f"every class needs at least {MIN_ROWS_PER_CLASS} rows; "
            f"class {classes[counts.argmin()]!r} has {counts.min()}"
        )


def fit_classifier(
    X: np.ndarray, y: np.ndarray, estimator: str = "svm", seed: int = 0, folds: int = 5, test_size: float = 0.2
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Search the grid by stratified k-fold CV on the training rows; score the best on the held-out rows.

    The returned pipeline is exactly the one scored, so the metrics describe
    the artifact that serves. Returns (pipeline, held-out metrics, search details).
    """
    y = np.asarray(y).astype(str)
    check_target(y)
    binary = len(np.unique(y)) == 2
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    pipeline, grid = candidates(estimator, seed)
    scoring = "roc_auc" if binary else "balanced_accuracy"
    search = GridSearchCV(
        pipeline,
        grid,
        scoring=scoring,
        n_jobs=1,
        refit=False,
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
    )
    best: Any = clone(pipeline)
    # Hundreds of fits on small tables: BLAS threads only contend (with each other and with
    # the worker's other processes) and made the search several times slower when measured.
    with threadpool_limits(limits=1):
        search.fit(X_train, y_train)
        best.set_params(**search.best_params_)
        if estimator == "svm":
            # An SVM has no probabilities of its own: Platt scaling fitted on out-of-fold decision
            # values (scikit-learn's replacement for SVC(probability=True)).
            best = CalibratedClassifierCV(
                best, method="sigmoid", ensemble=False, cv=StratifiedKFold(folds, shuffle=True, random_state=seed)
            )
        best.fit(X_train, y_train)
    metrics = held_out_scores(best, X_test, y_test)
    metrics.update(n_train=len(y_train), n_test=len(y_test))
    details = {
        "estimator": estimator,
        "best_params": _plain(search.best_params_),
        "cv": {
            "folds": folds,
            "scoring": scoring,
            "best_score": round(float(search.best_score_), 4),
            "candidates": len(search.cv_results_["params"]),
        },
    }
    return best, metrics, details


def held_out_scores(pipeline: Any, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro F1, log loss and ROC AUC (one-vs-rest when multi-class)."""
    proba = pipeline.predict_proba(X)
    classes = pipeline.classes_
    # Predictions follow the probabilities the service returns, not SVC's own decision function.
    predicted = classes[proba.argmax(axis=1)]
    auc = (
        roc_auc_score(y, proba[:, 1])
        if len(classes) == 2
        else roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    )
    return {
        "accuracy": _round(accuracy_score(y, predicted)),
        "balanced_accuracy": _round(balanced_accuracy_score(y, predicted)),
        "f1_macro": _round(f1_score(y, predicted, average="macro")),
        "roc_auc": _round(auc),
        "log_loss": _round(log_loss(y, proba, labels=classes)),
    }


def describe_features(X: np.ndarray, names: Sequence[str], descriptions: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Each feature's name, training range, mean and share of missing values, for the manifest."""
    described = []
    for i, name in enumerate(names):
        column = X[:, i].astype(float)
        feature = {
            "name": name,
            "type": "numeric",
            "min": _round(np.nanmin(column)),
            "max": _round(np.nanmax(column)),
            "mean": _round(np.nanmean(column)),
            "missing_share": _round(np.isnan(column).mean()),
        }
        if i < len(descriptions):
            feature["description"] = descriptions[i]
        described.append(feature)
    return described


def _round(value: float) -> float:
    return round(float(value), 4)


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    # numpy scalars are not JSON
    return {
        key.removeprefix("model__"): (value.item() if hasattr(value, "item") else value)
        for key, value in params.items()
    }
