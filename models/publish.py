"""Registering a trained estimator as a new version of the store: artifact, hash, manifest, then ACTIVE.

Publishing is every trainer's last step, so it reports that step's progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib

from models.manifest import Manifest, ModelStore, file_sha256, framework_versions
from models.training import PUBLISHED, TRAIN_STEPS, Progress, no_progress

ARTIFACT = "model.joblib"


def publish(
    store: ModelStore,
    name: str,
    version: str,
    kind: str,
    estimator: Any,
    tasks: Sequence[str],
    metrics: dict[str, Any],
    details: dict[str, Any],
    activate: bool,
    progress: Progress = no_progress,
) -> Manifest:
    """Write the artifact into the version folder (made by ``store.new_version``), then its manifest.

    The manifest is written last, so a half-written version never appears;
    files a trainer pinned in ``details["files"]`` must already be in the folder.
    """
    directory: Path = store.version_dir(name, version)
    joblib.dump(estimator, directory / ARTIFACT)
    manifest = Manifest(
        name=name,
        version=version,
        kind=kind,
        artifact=ARTIFACT,
        sha256=file_sha256(directory / ARTIFACT),
        framework=framework_versions(),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        tasks=tuple(tasks),
        metrics=metrics,
        details=details,
        directory=directory,
    )
    store.write_manifest(manifest)
    if activate:
        store.activate(name, version)
    progress(PUBLISHED, TRAIN_STEPS)
    return manifest


def publish_new(
    store: ModelStore,
    name: str,
    kind: str,
    estimator: Any,
    tasks: Sequence[str],
    metrics: dict[str, Any],
    details: dict[str, Any],
    activate: bool,
    progress: Progress = no_progress,
) -> Manifest:
    """``publish`` into a freshly allocated version, for trainers with nothing else to write beside it."""
    version, _ = store.new_version(name)
    return publish(store, name, version, kind, estimator, tasks, metrics, details, activate, progress)
