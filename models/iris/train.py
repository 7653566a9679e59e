"""Fit the iris species classifier on scikit-learn's bundled data set and register it as a new version.

Run ``python -m models.iris.train --help``. The data ship with scikit-learn
(no download); the estimator and its grid search are the tabular classifier's.
"""

from __future__ import annotations

import typing

from sklearn.datasets import load_iris

from jobqueue.settings import Settings
from models.commands import cli_store, prune_after_publish
from models.drift_reference import categorical, drift_reference, numeric
from models.iris.schema import FEATURES, KIND
from models.manifest import Manifest
from models.publish import publish_new
from models.store import ModelStore
from models.tabular.fit import describe_features, fit_classifier
from models.tabular.schema import Estimator
from models.training import DATA_READY, FITTED, TRAIN_STEPS, Progress, no_progress, trainer_parser


def train(
    store: ModelStore,
    name: str = "iris",
    estimator: Estimator = "svm",
    seed: int = 0,
    activate: bool = True,
    progress: Progress = no_progress,
) -> Manifest:
    """Fit on the 150 flowers and register the result as a new version of ``name``."""
    data = load_iris()
    species = data.target_names[data.target]
    progress(DATA_READY, TRAIN_STEPS)
    pipeline, metrics, search = fit_classifier(data.data, species, estimator=estimator, seed=seed)
    progress(FITTED, TRAIN_STEPS)
    details = {
        "features": describe_features(
            data.data, list(FEATURES), [f"{n.replace('_', ' ').capitalize()} in cm." for n in FEATURES]
        ),
        "aliases": FEATURES,
        "classes": [str(s) for s in data.target_names],
        **search,
        "training_data": "Fisher's iris measurements (sklearn.datasets.load_iris, 150 flowers)",
        **drift_reference(
            len(species),
            [numeric(name, data.data[:, i]) for i, name in enumerate(FEATURES)],
            categorical("species", pipeline.predict(data.data)),
        ),
    }
    return publish_new(store, name, KIND, pipeline, ("predict", "train"), metrics, details, activate, progress)


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Command line: train a new version of the iris classifier."""
    parser = trainer_parser(__doc__.splitlines()[0], "iris")
    parser.add_argument("--estimator", choices=typing.get_args(Estimator), default="svm")
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    store = cli_store(settings)
    manifest = train(store, name=args.name, estimator=args.estimator, seed=args.seed, activate=not args.no_activate)
    print(f"trained {manifest.name} {manifest.version}: {manifest.metrics}")
    for removed in prune_after_publish(store, settings):
        print(f"removed {removed} (beyond the newest {settings.model_versions_kept})")


if __name__ == "__main__":
    main()
