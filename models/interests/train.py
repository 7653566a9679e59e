"""Fit the interests NMF model and store it as a new, sha256-pinned version.

Run ``python -m models.interests.train --help``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.decomposition import NMF
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

from jobqueue.settings import Settings
from models.commands import cli_store, prune_after_publish
from models.drift import city_key
from models.drift_reference import categorical, drift_reference
from models.interests import dataset
from models.interests.schema import KIND
from models.manifest import Manifest
from models.publish import publish_new
from models.store import ModelStore
from models.training import DATA_READY, FITTED, TRAIN_STEPS, Progress, no_progress, trainer_parser

TOP_TERMS = 5


def fit(
    data: dataset.SignupData, n_clusters: int = 4, seed: int = 0
) -> tuple[Pipeline, dict[str, Any], dict[str, Any]]:
    """Fit NMF on the users' interests; return the pipeline, its metrics and its details."""
    # L2-normalising rows keeps users who list many interests from dominating the factors.
    pipeline = Pipeline(
        [
            ("normalize", Normalizer(norm="l2")),
            ("nmf", NMF(n_components=n_clusters, init="nndsvda", random_state=seed, max_iter=1000)),
        ]
    )
    weights = pipeline.fit_transform(data.matrix)
    labels = weights.argmax(axis=1)
    shares = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    nmf: NMF = pipeline.named_steps["nmf"]
    top = np.argsort(-nmf.components_, axis=1)[:, :TOP_TERMS]
    metrics = {
        "n_users": int(data.matrix.shape[0]),
        "reconstruction_error": round(float(nmf.reconstruction_err_), 4),
        "iterations": int(nmf.n_iter_),
        # How well clusters recover the hidden personas (1.0 = perfectly).
        "persona_adjusted_rand_index": round(float(adjusted_rand_score(data.personas, labels)), 4),
        "mean_assignment_share": round(float(shares.max(axis=1).mean()), 4),
    }
    details = {
        "vocabulary": list(data.vocabulary),
        "n_clusters": n_clusters,
        "cluster_sizes": {str(c + 1): int((labels == c).sum()) for c in range(n_clusters)},
        "cluster_top_interests": {str(c + 1): [data.vocabulary[i] for i in top[c]] for c in range(n_clusters)},
        "training_data": f"synthetic signups (models.interests.dataset, seed {seed})",
        # What drift compares signups with: the users' interests and cities, and their clusters.
        **drift_reference(
            len(labels),
            [
                categorical(
                    "interests", [[data.vocabulary[i] for i in np.flatnonzero(row)] for row in data.matrix], multi=True
                ),
                categorical("city", [city_key(city) for city in data.cities]),
            ],
            categorical("cluster", [str(label + 1) for label in labels]),
        ),
    }
    return pipeline, metrics, details


def train(
    store: ModelStore,
    name: str = "interests",
    n_users: int = 3000,
    n_clusters: int = 4,
    seed: int = 0,
    activate: bool = True,
    progress: Progress = no_progress,
) -> Manifest:
    """Train on synthetic signups and register the result as a new version of ``name``."""
    data = dataset.generate(n_users=n_users, seed=seed)
    progress(DATA_READY, TRAIN_STEPS)
    pipeline, metrics, details = fit(data, n_clusters=n_clusters, seed=seed)
    progress(FITTED, TRAIN_STEPS)
    return publish_new(store, name, KIND, pipeline, ("predict", "train"), metrics, details, activate, progress)


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Command line: train a new version of the interests model."""
    parser = trainer_parser(__doc__.splitlines()[0], "interests")
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--clusters", type=int, default=4)
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    store = cli_store(settings)
    manifest = train(
        store,
        name=args.name,
        n_users=args.users,
        n_clusters=args.clusters,
        seed=args.seed,
        activate=not args.no_activate,
    )
    print(f"trained {manifest.name} {manifest.version}: {manifest.metrics}")
    for removed in prune_after_publish(store, settings):
        print(f"removed {removed} (beyond the newest {settings.model_versions_kept})")


if __name__ == "__main__":
    main()
