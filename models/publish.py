"""Registering a trained estimator as a new version: artifact and manifest staged here, then published.

Publishing is every trainer's last step, so it reports that step's progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib

from models.manifest import Manifest, file_sha256, framework_versions
from models.store import ModelStore
from models.training import PUBLISHED, TRAIN_STEPS, Progress, no_progress

ARTIFACT = "model.joblib"


def publish(
    store: ModelStore,
    staged: Path,
    name: str,
    kind: str,
    estimator: Any,
    tasks: Sequence[str],
    metrics: dict[str, Any],
    details: dict[str, Any],
    activate: bool,
    progress: Progress = no_progress,
) -> Manifest:
    """Write the artifact into ``staged`` (from ``store.staging``), where the trainer put any data files
    pinned in ``details["files"]``, and publish the version; the registry gives it its id."""
    joblib.dump(estimator, staged / ARTIFACT)
    draft = Manifest(
        name=name,
        version="",
        kind=kind,
        artifact=ARTIFACT,
        sha256=file_sha256(staged / ARTIFACT),
        framework=framework_versions(),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        tasks=tuple(tasks),
        metrics=metrics,
        details=details,
        directory=staged,
    )
    manifest = store.publish(draft, activate)
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
    """``publish`` from a fresh staging folder, for trainers with nothing else to write beside the artifact."""
    with store.staging(name) as staged:
        return publish(store, staged, name, kind, estimator, tasks, metrics, details, activate, progress)
