"""A lender's application table: reading and checking a CSV, and describing its features for the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from models.credit import customers, dataset

# What a credit officer calls each column of the application table, and the unit
# a dashboard shows its values in ("days": DAYS_* count days before the
# application, shown as years; "currency": amounts). A lender's own columns
# missing here are shown by their names.
LABELS: dict[str, tuple[str, str | None]] = {
    "NAME_CONTRACT_TYPE": ("Contract type", None),
    "CODE_GENDER": ("Gender", None),
    "FLAG_OWN_CAR": ("Owns a car", None),
    "FLAG_OWN_REALTY": ("Owns real estate", None),
    "CNT_CHILDREN": ("Children", None),
    "NAME_INCOME_TYPE": ("Income type", None),
    "NAME_EDUCATION_TYPE": ("Education", None),
    "NAME_FAMILY_STATUS": ("Family status", None),
    "NAME_HOUSING_TYPE": ("Housing", None),
    "AMT_INCOME_TOTAL": ("Annual income", "currency"),
    "AMT_CREDIT": ("Credit amount", "currency"),
    "AMT_ANNUITY": ("Loan annuity", "currency"),
    "AMT_GOODS_PRICE": ("Price of the goods", "currency"),
    "REGION_RATING_CLIENT": ("Region rating (1 best, 3 worst)", None),
    "REGION_POPULATION_RELATIVE": ("Region population (relative)", None),
    "DAYS_BIRTH": ("Age", "days"),
    "DAYS_EMPLOYED": ("Time employed", "days"),
    "DAYS_REGISTRATION": ("Time since registration change", "days"),
    "DAYS_ID_PUBLISH": ("Age of ID document", "days"),
    "OWN_CAR_AGE": ("Car age (years)", None),
    "OCCUPATION_TYPE": ("Occupation", None),
    "CNT_FAM_MEMBERS": ("Family members", None),
    "REG_CITY_NOT_WORK_CITY": ("Works in another city (1 = yes)", None),
    "EXT_SOURCE_1": ("External credit score 1", None),
    "EXT_SOURCE_2": ("External credit score 2", None),
    "EXT_SOURCE_3": ("External credit score 3", None),
    "DEF_30_CNT_SOCIAL_CIRCLE": ("Defaults in social circle (30 days)", None),
    "DAYS_LAST_PHONE_CHANGE": ("Time since phone change", "days"),
    "AMT_REQ_CREDIT_BUREAU_YEAR": ("Credit bureau enquiries (last year)", None),
}


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
    """Each feature's name, type, categories, share of missing values and, when known, label and unit."""
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
        if name in LABELS:
            feature["label"], unit = LABELS[name]
            if unit:
                feature["unit"] = unit
        features.append(feature)
    return features
