"""Set the registry up (``python -m models.build``): migrate its database, then give every built-in model a version.

Idempotent, and safe on any host at any time (``make models``, a release phase,
a one-off container): a model that already has a version is left alone. A
missing one is published from the seed folder when the image has one
(``--seed-only`` made it at build time), else trained here.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobqueue.database import migrate
from jobqueue.settings import Settings
from models.commands import cli_store
from models.manifest import ArtifactRefused, Manifest
from models.seed import SeedFolder
from models.store import ModelStore


def _train(module: str) -> Callable[[Any], str]:
    def trainer(publisher: Any) -> str:
        # Imported when needed: a registry that is already complete costs no scikit-learn import.
        train = importlib.import_module(module).train
        return str(train(publisher).version)

    return trainer


# Model name -> how to train its first version (into a store or a seed folder alike).
TRAINERS: dict[str, Callable[[Any], str]] = {
    "interests": _train("models.interests.train"),
    "credit": _train("models.credit.train"),
    "iris": _train("models.iris.train"),
}


def say(message: str) -> None:
    """Progress as it happens, so a first `make run` does not sit silent while it trains."""
    print(message, flush=True)


def build_missing(store: ModelStore, seeds: SeedFolder | None = None) -> dict[str, str]:
    """Publish or train each built-in model the registry has no version of; returns {name: how}."""
    done = {}
    present = set(store.names())
    for name, trainer in TRAINERS.items():
        if name in present:
            continue
        seed = seeds.seed(name) if seeds else None
        if seed is not None:
            done[name] = f"published {name} {_publish_seed(store, seed.directory, name)} from {seed.directory}"
        else:
            say(f"training {name}…")
            started = time.monotonic()
            version = trainer(store)
            done[name] = f"trained {name} in {time.monotonic() - started:.1f} s"
            say(f"{done[name]} (version {version})")
            continue
        say(done[name])
    return done


def _publish_seed(store: ModelStore, folder: Path, name: str) -> str:
    """Publish a copy of a seed (the image's folder stays as it is) once its files match its manifest."""
    with store.staging(name) as staged:
        shutil.copytree(folder, staged, dirs_exist_ok=True)
        draft = Manifest.read(staged)
        if draft.name != name:
            raise ArtifactRefused(f"the seed folder of {name} holds {draft.name}")
        draft.verify()
        return store.publish(draft, activate=True).version


def main(argv: list[str] | None = None, settings: Settings | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="train every built-in model into MODEL_SEED_DIR, with no database (image builds)",
    )
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    if args.seed_only:
        for name, trainer in TRAINERS.items():
            say(f"training {name} into {settings.model_seed_dir}…")
            trainer(SeedFolder(settings.model_seed_dir))
        return
    migrate(settings)
    if not build_missing(cli_store(settings), SeedFolder(settings.model_seed_dir)):
        say("every built-in model has a version in the registry")


if __name__ == "__main__":
    main()
