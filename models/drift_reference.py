"""The training distribution a version is watched against, written into its manifest by its trainer.

Numbers get decile edges (ties merged, so a count with three values gets
three bins) and the share of the non-missing values in each bin; categories
get the share of each; both get the share of missing values. The prediction
(a probability, a cluster, a class) is described the same way, from the
model's predictions on its training data. ``models.drift`` bins a window of
jobs with the same edges and compares.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from models.drift import REFERENCE_KEY

DECILES = np.linspace(0.1, 0.9, 9)


def _share(count: float, total: float) -> float:
    return round(float(count) / total, 6) if total else 0.0


def numeric(name: str, values: Any) -> dict[str, Any]:
    """A numeric feature's decile bins and missing share."""
    column = np.asarray(values, dtype=float)
    present = column[~np.isnan(column)]
    # Edges are values the data holds (no interpolation), so a count's bins fall between its values.
    edges = (
        sorted({round(float(e), 6) for e in np.quantile(present, DECILES, method="inverted_cdf")})
        if present.size
        else []
    )
    # A value equal to an edge falls in the bin below it, as bisect_left places it in models.drift.
    slots = np.searchsorted(np.asarray(edges), present, side="left")
    counts = np.bincount(slots, minlength=len(edges) + 1)
    return {
        "name": name,
        "type": "numeric",
        "edges": edges,
        "shares": [_share(c, present.size) for c in counts],
        "missing": _share(column.size - present.size, column.size),
    }


def categorical(name: str, values: Iterable[Any], multi: bool = False) -> dict[str, Any]:
    """A categorical feature's shares; ``multi``: each record holds a list of values (shares of mentions)."""
    records = list(values)

    def is_missing(value: Any) -> bool:
        return value is None or (isinstance(value, float) and np.isnan(value)) or (multi and len(value) == 0)

    present = [value for value in records if not is_missing(value)]
    counts = Counter(str(item) for value in present for item in (value if multi else [value]))
    total = sum(counts.values())
    spec: dict[str, Any] = {
        "name": name,
        "type": "categorical",
        "shares": {category: _share(count, total) for category, count in sorted(counts.items())},
        "missing": _share(len(records) - len(present), len(records)),
    }
    if multi:
        spec["multi"] = True
    return spec


def drift_reference(rows: int, features: Sequence[dict[str, Any]], prediction: dict[str, Any]) -> dict[str, Any]:
    """The ``details`` entry a trainer adds: ``{"drift_reference": {...}}``."""
    return {REFERENCE_KEY: {"rows": int(rows), "features": list(features), "prediction": prediction}}
