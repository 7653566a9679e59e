"""Test data and small helpers shared by the test modules: keys, a signup, tables, version copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.credit import dataset
from models.manifest import ModelStore

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


def clone_version(store: ModelStore, name: str, source: str, version: str) -> Path:
    """Register a copy of version ``source`` as ``version``: the same artifact under another id."""
    target = store.root / name / version
    shutil.copytree(store.version_dir(name, source), target)
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps(dict(manifest, version=version)))
    return target


def bearer(key: str) -> dict[str, str]:
    """The Authorization header that presents ``key``."""
    return {"Authorization": f"Bearer {key}"}
