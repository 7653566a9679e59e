"""Test data and small helpers shared by the test modules: keys, a signup, tables, version copies."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobqueue.database import migrate
from jobqueue.settings import Settings
from models.credit import dataset
from models.store import ModelStore

CALLBACK_SECRET = "test-callback-secret"
ACME, ACME_ROTATED, GLOBEX, OPS = (
    "acme-client-key-0001",
    "acme-client-key-0002",
    "globex-client-key-01",
    "ops-admin-key-00001",
)
API_KEYS = f"client:acme:{ACME}, client:acme:{ACME_ROTATED}, client:globex:{GLOBEX}, admin:ops:{OPS}"
SIGNUP = {"model": "interests", "input": {"interests": ["surfing", "python"], "city": "Lisbon"}}
# The session's credit model: small, so its global explanations take a fraction of a second.
CREDIT_CUSTOMERS = 3000
# Credit jobs for the first customer of the synthetic table.
CUSTOMER = dataset.FIRST_ID
PREDICT = {"model": "credit", "input": {"customer_id": CUSTOMER}, "params": {"threshold": 0.6}}
LOCAL = {"model": "credit", "task": "explain", "input": {"customer_id": CUSTOMER}}
# Screenshots the browser test saved (in artifacts/); listed at the end of the run.
SCREENSHOTS: list[Path] = []


def explain_global(sample_size: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The long, chunked job: mean |SHAP| over a sample of the credit model's customers."""
    return {
        "model": "credit",
        "task": "explain",
        "params": {"scope": "global", "sample_size": sample_size, "seed": seed},
    }


def write_clinic_table(path: Path, rows: int = 200, seed: int = 0) -> Path:
    """A small CSV of patients: glucose and BMI decide the 0/1 Outcome, one column is noise, plus an id."""
    rng = np.random.default_rng(seed)
    glucose, bmi, noise = rng.normal(120, 30, rows), rng.normal(30, 6, rows), rng.normal(0, 1, rows)
    risk = 0.06 * (glucose - 120) + 0.25 * (bmi - 30) + rng.normal(0, 0.8, rows)
    pd.DataFrame(
        {
            "patient id": np.arange(1, rows + 1),
            "plasma glucose": glucose.round(1),
            "BMI": bmi.round(1),
            "noise": noise.round(3),
            "Outcome": (risk > 0).astype(int),
        }
    ).to_csv(path, index=False)
    return path


def registry_settings(settings: Settings, root: Path) -> Settings:
    """``settings`` pointed at the registry kept under ``root``: its SQLite file, and this host's cache."""
    return settings.replace(database_url=f"sqlite:///{root / 'registry.sqlite'}", model_dir=root / "cache")


def store_at(root: Path) -> ModelStore:
    """The model store kept under ``root``, its schema migrated."""
    settings = registry_settings(Settings(), root)
    if str(root) not in _MIGRATED:
        migrate(settings)
        _MIGRATED.add(str(root))
    return ModelStore.for_settings(settings)


_MIGRATED: set[str] = set()


def root_settings(root: Path) -> Settings:
    """Default settings on the registry kept under ``root``, its schema migrated (for the command lines)."""
    store_at(root)
    return registry_settings(Settings(), root)


def store_settings(store: ModelStore) -> Settings:
    """Default settings on ``store``'s registry and cache."""
    url = store.registry.engine.url.render_as_string(hide_password=False)
    return Settings(database_url=url, model_dir=store.root)


def republish(store: ModelStore, name: str, source: str, activate: bool = False) -> str:
    """Publish a copy of version ``source`` as a new version: the same artifact under another id."""
    manifest = store.manifest(name, source)
    with store.staging(name) as staged:
        shutil.copytree(manifest.directory, staged, dirs_exist_ok=True)
        return store.publish(dataclasses.replace(manifest, directory=staged), activate).version


def bearer(key: str) -> dict[str, str]:
    """The Authorization header that presents ``key``."""
    return {"Authorization": f"Bearer {key}"}
