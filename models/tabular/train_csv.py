"""Train a classifier from a CSV and register it as a new version of a tabular model.

Run ``python -m models.tabular.train_csv --name NAME --data FILE.csv --target COLUMN``.
Every other column must be numeric and becomes a required input feature under
its own name (``--drop`` leaves out ids and the like). The default estimator is
an RBF-kernel SVM on standardised features; its C and gamma are chosen by a
stratified 5-fold grid search on 80 % of the rows, and the held-out 20 % gives
the scores recorded in the manifest.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from jobqueue.settings import Settings
from models.commands import cli_store, prune_after_publish
from models.drift_reference import categorical, drift_reference, numeric
from models.manifest import NAME_RE, Manifest, file_sha256
from models.publish import publish_new
from models.store import ModelStore
from models.tabular.fit import describe_features, fit_classifier
from models.tabular.schema import FEATURE_NAME_RE, KIND, MAX_FEATURES, Estimator
from models.training import DATA_READY, FITTED, TRAIN_STEPS, Progress, no_progress, trainer_parser


def _columns(names: Sequence[object]) -> str:
    """'column "a"' or 'columns "a", "b"': messages name one column or several."""
    return ("column " if len(names) == 1 else "columns ") + ", ".join(repr(str(name)) for name in names)


def read_table(path: Path, target: str, drop: Sequence[str] = ()) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature columns and the target of a CSV; raises ValueError saying what to fix."""
    df = pd.read_csv(path)
    missing = [c for c in (target, *drop) if c not in df.columns]
    if missing:
        raise ValueError(f"{path.name} has no {_columns(missing)}; its columns: {', '.join(map(str, df.columns))}")
    if (unlabelled := int(df[target].isna().sum())) > 0:
        rows = "1 row has" if unlabelled == 1 else f"{unlabelled} rows have"
        raise ValueError(f"{rows} no {target}; remove or fill {'it' if unlabelled == 1 else 'them'}")
    features = df.drop(columns=[target, *drop])
    bad_names = [str(c) for c in features.columns if not FEATURE_NAME_RE.match(str(c))]
    if bad_names:
        raise ValueError(f"column names must be 1 to 64 printable characters, unlike {_columns(bad_names)}")
    text = [
        c
        for c in features.columns
        if not pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
    ]
    if text:
        one = len(text) == 1
        raise ValueError(
            f"features must be numeric; {_columns(text)} {'is' if one else 'are'} not "
            f"(leave {'it' if one else 'them'} out with --drop)"
        )
    empty = [c for c in features.columns if features[c].isna().all()]
    if empty or not 1 <= features.shape[1] <= MAX_FEATURES:
        raise ValueError(
            f"need 1 to {MAX_FEATURES} features with values" + (f"; empty: {_columns(empty)}" if empty else "")
        )
    return features.astype(float), df[target].to_numpy()


def train(
    store: ModelStore,
    name: str,
    data: Path,
    target: str,
    estimator: Estimator = "svm",
    drop: Sequence[str] = (),
    seed: int = 0,
    activate: bool = True,
    progress: Progress = no_progress,
) -> Manifest:
    """Fit on ``data`` and register the result as a new version of ``name``."""
    if not NAME_RE.match(name):
        raise ValueError(f"invalid model name {name!r}: lower-case letters, digits, '-' and '_'")
    if store.versions(name) and (kind := store.manifest(name).kind) != KIND:
        raise ValueError(f"model {name!r} already exists, of kind {kind}; give the table its own name")
    features, y = read_table(data, target, drop)
    X = features.to_numpy()
    progress(DATA_READY, TRAIN_STEPS)
    pipeline, metrics, search = fit_classifier(X, y, estimator=estimator, seed=seed)
    progress(FITTED, TRAIN_STEPS)
    labels, counts = np.unique(np.asarray(y).astype(str), return_counts=True)
    details = {
        "features": describe_features(X, [str(c) for c in features.columns]),
        "target": target,
        "classes": labels.tolist(),
        "class_counts": {str(label): int(n) for label, n in zip(labels, counts, strict=True)},
        "dropped_columns": list(drop),
        **search,
        "training_data": f"{data.name} ({len(y)} rows, sha256 {file_sha256(data)[:12]}…)",
        **drift_reference(
            len(y),
            [numeric(str(name), X[:, i]) for i, name in enumerate(features.columns)],
            categorical("class", pipeline.predict(X)),
        ),
    }
    return publish_new(store, name, KIND, pipeline, ("predict",), metrics, details, activate, progress)


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Command line entry point."""
    parser = trainer_parser(__doc__.splitlines()[0], None)
    parser.add_argument("--data", type=Path, required=True, help="the CSV, with a header row")
    parser.add_argument("--target", required=True, help="the column to predict")
    parser.add_argument("--estimator", choices=typing.get_args(Estimator), default="svm")
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a column that is not a feature (an id, a date); repeatable",
    )
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    store = cli_store(settings)
    try:
        manifest = train(
            store,
            args.name,
            args.data,
            args.target,
            estimator=args.estimator,
            drop=args.drop,
            seed=args.seed,
            activate=not args.no_activate,
        )
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        parser.error(str(exc))
    print(
        f"trained {manifest.name} {manifest.version} ({args.estimator}, best {manifest.details['best_params']}, "
        f"cv {manifest.details['cv']['scoring']} {manifest.details['cv']['best_score']})"
    )
    print(f"held-out scores: {manifest.metrics}")
    for removed in prune_after_publish(store, settings):
        print(f"removed {removed} (beyond the newest {settings.model_versions_kept})")


if __name__ == "__main__":
    main()
