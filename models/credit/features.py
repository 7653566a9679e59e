"""A lender's application table: reading and checking a CSV, and describing its features for the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from models.credit import customers, dataset


def load_csv(path: Path, id_column: str = dataset.ID, target: str = dataset.TARGET) -> pd.DataFrame:
    """Read and check a lender's table; raises ValueError saying what to fix."""
    df = pd.read_csv(path)
    if id_column not in df or target not in df:
        raise ValueError(f"{path.name} needs an {id_column} column and a {target} column")
    ids = df[id_column]
    if not pd.api.types.is_integer_dtype(ids) or ids.min() < 1 or not ids.is_unique:
        raise ValueError(f"{id_column} must hold unique positive integers")
    if not set(df[target].unique()) <= {0, 1} or df[target].value_counts().min() < 10:
        raise ValueError(f"{target} must be 0 or 1, with at least 10 customers of each")
    if df.shape[1] < 3:
        raise ValueError(f"{path.name} has no feature column besides {id_column} and {target}")
    for name in df.columns:
        if not customers.COLUMN_RE.match(name):
            raise ValueError(f"column {name!r}: names must be letters, digits and underscores")
    return dataset.clean(df)


def describe_features(df: pd.DataFrame, id_column: str, target: str) -> list[dict[str, Any]]:
    """Each feature's name, type, categories and share of missing values, as the manifest records them."""
    features = []
    for name in df.columns:
        if name in (id_column, target):
            continue
        column = df[name]
        numeric = pd.api.types.is_numeric_dtype(column)
        feature: dict[str, Any] = {
            "name": name,
            "type": "numeric" if numeric else "categorical",
            "missing_share": round(float(column.isna().mean()), 4),
        }
        if not numeric:
            feature["categories"] = sorted(str(v) for v in column.dropna().unique())
        features.append(feature)
    return features
