"""A deterministic synthetic consumer-credit application table, shaped like Home Credit's ``application_train``.

One row per customer: the id ``SK_ID_CURR``, the binary ``TARGET`` (1 = the
customer defaulted, about ``DEFAULT_RATE`` of them) and the features below,
with the column names, units and quirks of the real table:

- amounts are in the lender's currency; ``DAYS_*`` count days *before* the
  application, so they are negative (``DAYS_BIRTH = -15000`` is about 41 years);
- ``EXT_SOURCE_1..3`` are normalised scores from external bureaus, in (0, 1),
  often missing (56 %, 0.2 % and 20 % of rows, as in the real data);
- ``DAYS_EMPLOYED`` is missing for customers without a job (the real table
  writes the sentinel 365243 instead; ``clean`` turns it into a missing value);
- ``OWN_CAR_AGE`` is missing without a car, ``AMT_GOODS_PRICE`` for revolving
  loans, ``OCCUPATION_TYPE`` for pensioners and for a share of the others.

Default risk is driven mostly by a hidden creditworthiness that the external
scores measure with noise, then by the debt burden (credit and annuity over
income), age, employment length, education, region and social-circle defaults.
The intercept is solved so the expected default rate is ``DEFAULT_RATE``. The
same seed always yields the same table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ID = "SK_ID_CURR"
TARGET = "TARGET"
FIRST_ID = 100002
DEFAULT_RATE = 0.08
# The real table's "not employed" marker in DAYS_EMPLOYED (about 1,000 years).
DAYS_EMPLOYED_SENTINEL = 365243

CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "NAME_CONTRACT_TYPE": (("Cash loans", "Revolving loans"), (0.905, 0.095)),
    "CODE_GENDER": (("F", "M"), (0.66, 0.34)),
    "FLAG_OWN_CAR": (("N", "Y"), (0.66, 0.34)),
    "FLAG_OWN_REALTY": (("Y", "N"), (0.69, 0.31)),
    "NAME_EDUCATION_TYPE": (
        (
            "Secondary / secondary special",
            "Higher education",
            "Incomplete higher",
            "Lower secondary",
            "Academic degree",
        ),
        (0.71, 0.243, 0.033, 0.012, 0.002),
    ),
    "NAME_FAMILY_STATUS": (
        ("Married", "Single / not married", "Civil marriage", "Separated", "Widow"),
        (0.64, 0.15, 0.10, 0.06, 0.05),
    ),
    "NAME_HOUSING_TYPE": (
        ("House / apartment", "With parents", "Municipal apartment", "Rented apartment", "Office apartment"),
        (0.888, 0.048, 0.036, 0.02, 0.008),
    ),
    "OCCUPATION_TYPE": (
        (
            "Laborers",
            "Sales staff",
            "Core staff",
            "Managers",
            "Drivers",
            "High skill tech staff",
            "Accountants",
            "Medicine staff",
        ),
        (0.26, 0.15, 0.13, 0.10, 0.09, 0.06, 0.05, 0.16),
    ),
}
INCOME_TYPES = ("Working", "Commercial associate", "Pensioner", "State servant", "Unemployed")


def _choice(rng: np.random.Generator, name: str, n: int) -> np.ndarray:
    values, weights = CATEGORIES[name]
    return rng.choice(np.array(values, dtype=object), size=n, p=weights)


def _intercept_for(logit: np.ndarray, rate: float) -> float:
    # Bisection on the mean predicted probability: deterministic, no solver needed.
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def generate(n_customers: int = 30_000, seed: int = 0) -> pd.DataFrame:
    """Draw ``n_customers`` applications; the same seed gives the same table."""
    rng = np.random.default_rng(seed)
    n = n_customers
    ids = FIRST_ID + np.concatenate([[0], np.cumsum(rng.integers(1, 4, n - 1))]) if n else np.array([], int)
    df = pd.DataFrame({ID: ids.astype(np.int64)})
    for name in ("NAME_CONTRACT_TYPE", "CODE_GENDER", "FLAG_OWN_CAR", "FLAG_OWN_REALTY"):
        df[name] = _choice(rng, name, n)
    df["CNT_CHILDREN"] = np.minimum(rng.poisson(0.42, n), 6)
    age = rng.uniform(21, 69, n)
    senior = age >= 60
    df["NAME_INCOME_TYPE"] = np.where(
        senior & (rng.random(n) < 0.75),
        "Pensioner",
        rng.choice(np.array(INCOME_TYPES, dtype=object), size=n, p=(0.60, 0.27, 0.04, 0.085, 0.005)),
    )
    working = ~df["NAME_INCOME_TYPE"].isin(["Pensioner", "Unemployed"]).to_numpy()
    for name in ("NAME_EDUCATION_TYPE", "NAME_FAMILY_STATUS", "NAME_HOUSING_TYPE"):
        df[name] = _choice(rng, name, n)
    higher = df["NAME_EDUCATION_TYPE"].isin(["Higher education", "Academic degree"]).to_numpy()
    income = np.exp(rng.normal(np.log(145_000) + 0.25 * higher - 0.2 * ~working, 0.45, n))
    revolving = (df["NAME_CONTRACT_TYPE"] == "Revolving loans").to_numpy()
    credit = np.where(
        revolving,
        rng.choice([135_000, 180_000, 225_000, 270_000, 450_000], n),
        income * np.exp(rng.normal(np.log(3.6), 0.55, n)),
    )
    credit = np.round(np.clip(credit, 45_000, 4_050_000), -2)
    annuity = np.where(revolving, credit * 0.05, credit / rng.uniform(10, 36, n))
    df["AMT_INCOME_TOTAL"] = np.round(income, -2)
    df["AMT_CREDIT"] = credit
    df["AMT_ANNUITY"] = np.round(annuity, 1)
    df["AMT_GOODS_PRICE"] = np.where(revolving, np.nan, np.round(credit * rng.uniform(0.8, 1.0, n), -2))
    df["REGION_RATING_CLIENT"] = rng.choice([1, 2, 3], size=n, p=(0.1, 0.74, 0.16))
    df["REGION_POPULATION_RELATIVE"] = np.round(
        rng.beta(2, 60, n)
        * np.select([df["REGION_RATING_CLIENT"] == 1, df["REGION_RATING_CLIENT"] == 3], [2.2, 0.6], 1.0),
        6,
    )
    df["DAYS_BIRTH"] = -np.round(age * 365.25).astype(np.int64)
    employed_years = np.minimum(rng.exponential(6.0, n), age - 18)
    df["DAYS_EMPLOYED"] = np.where(working, -np.round(employed_years * 365.25), np.nan)
    df["DAYS_REGISTRATION"] = -np.round(rng.uniform(0, 1, n) * (age - 18) * 365.25)
    df["DAYS_ID_PUBLISH"] = -np.round(rng.uniform(0, 7000, n))
    df["OWN_CAR_AGE"] = np.where(df["FLAG_OWN_CAR"] == "Y", np.minimum(np.floor(rng.exponential(10, n)), 65), np.nan)
    df["OCCUPATION_TYPE"] = np.where(
        working & (rng.random(n) > 0.1), _choice(rng, "OCCUPATION_TYPE", n), np.array(None, dtype=object)
    )
    couple = df["NAME_FAMILY_STATUS"].isin(["Married", "Civil marriage"]).to_numpy()
    df["CNT_FAM_MEMBERS"] = (df["CNT_CHILDREN"] + 1 + couple).astype(float)
    df["REG_CITY_NOT_WORK_CITY"] = (rng.random(n) < 0.23).astype(np.int64)
    creditworthiness = rng.normal(0, 1, n)
    for k, noise in ((1, 1.0), (2, 0.8), (3, 0.9)):
        df[f"EXT_SOURCE_{k}"] = np.round(1 / (1 + np.exp(-(0.9 * creditworthiness + rng.normal(0, noise, n)))), 6)
    df["DEF_30_CNT_SOCIAL_CIRCLE"] = rng.poisson(0.14 * np.exp(-0.4 * creditworthiness), n).astype(float)
    df["DAYS_LAST_PHONE_CHANGE"] = -np.round(rng.exponential(960, n))
    df["AMT_REQ_CREDIT_BUREAU_YEAR"] = rng.poisson(1.9, n).astype(float)

    occupation = df["OCCUPATION_TYPE"]
    logit = (
        -1.1 * creditworthiness
        + 0.9 * np.log(credit / income / 3.6)
        + 4.0 * (annuity / income - 0.18)
        - 0.025 * (age - 43)
        - 0.06 * np.where(working, np.minimum(employed_years, 20), 5)
        + 0.3 * (df["CODE_GENDER"] == "M")
        - 0.35 * higher
        + 0.35 * df["NAME_EDUCATION_TYPE"].eq("Lower secondary")
        + 0.35 * (df["REGION_RATING_CLIENT"] == 3)
        - 0.3 * (df["REGION_RATING_CLIENT"] == 1)
        + 0.35 * df["DEF_30_CNT_SOCIAL_CIRCLE"]
        - 0.3 * revolving
        + 0.15 * (df["FLAG_OWN_CAR"] == "N")
        + 0.3 * occupation.isin(["Laborers", "Drivers"])
        - 0.3 * occupation.isin(["Accountants", "Managers"])
        + 0.2 * df["NAME_FAMILY_STATUS"].isin(["Single / not married", "Civil marriage"])
        + 0.25 * df["NAME_HOUSING_TYPE"].isin(["With parents", "Rented apartment"])
        + 0.2 * df["REG_CITY_NOT_WORK_CITY"]
    ).to_numpy(dtype=float)
    probability = 1 / (1 + np.exp(-(logit + _intercept_for(logit, DEFAULT_RATE))))
    df.insert(1, TARGET, (rng.random(n) < probability).astype(np.int64))

    # Missing values where the real table has them, drawn after the target so
    # that missingness carries no more signal than it does there.
    for name, share in (
        ("EXT_SOURCE_1", 0.56),
        ("EXT_SOURCE_2", 0.002),
        ("EXT_SOURCE_3", 0.2),
        ("AMT_ANNUITY", 0.0004),
        ("DEF_30_CNT_SOCIAL_CIRCLE", 0.003),
        ("AMT_REQ_CREDIT_BUREAU_YEAR", 0.135),
    ):
        df.loc[rng.random(n) < share, name] = np.nan
    return df


def clean(df: pd.DataFrame) -> pd.DataFrame:
    """Fix the real table's known quirk: the DAYS_EMPLOYED sentinel means 'no job', i.e. missing."""
    if "DAYS_EMPLOYED" in df:
        df = df.copy()
        df["DAYS_EMPLOYED"] = df["DAYS_EMPLOYED"].mask(df["DAYS_EMPLOYED"] == DAYS_EMPLOYED_SENTINEL)
    return df
