"""Train every model that has no stored version yet (``python -m models.build``); idempotent."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from models.manifest import ModelStore


def _train_interests(store: ModelStore) -> str:
    from models.interests.train import train

    return train(store).version


def _train_credit(store: ModelStore) -> str:
    from models.credit.train import train

    return train(store).version


def _train_iris(store: ModelStore) -> str:
    from models.iris.train import train

    return train(store).version


# Model name -> how to train its first version. Import lazily: a store that is
# already complete should not pay for importing scikit-learn.
TRAINERS: dict[str, Callable[[ModelStore], str]] = {
    "interests": _train_interests,
    "credit": _train_credit,
    "iris": _train_iris,
}


def build_missing(store: ModelStore) -> dict[str, str]:
    """Train the models that have no version; return {name: version trained}."""
    trained = {}
    for name, trainer in TRAINERS.items():
        if not store.versions(name):
            print(f"training {name}…", flush=True)  # a first credit model takes a while: say what is happening
            started = time.monotonic()
            trained[name] = trainer(store)
            print(f"trained {name} in {time.monotonic() - started:.1f} s", flush=True)
    return trained


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    from jobqueue.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None, help="defaults to MODEL_DIR")
    args = parser.parse_args(argv)
    store = ModelStore(args.model_dir or Settings.from_env().model_dir)
    trained = build_missing(store)
    for name, version in trained.items():
        print(f"trained {name} {version} into {store.root / name / version}")
    if not trained:
        print(f"all models present in {store.root}")


if __name__ == "__main__":
    main()
