"""What a tabular classifier accepts and returns; its input record is built from the manifest's feature list."""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from models.manifest import Manifest

KIND = "tabular-classifier"
Estimator = Literal["svm", "logreg", "forest"]
# Column names become JSON keys as they are; only control characters and absurd lengths are refused.
FEATURE_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
MAX_FEATURES = 200


class TabularInput(BaseModel):
    """One row: every feature of the model by its column name, as a number (the names: GET /models/{name})."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": "number"},
            "example": {"PlGlcConc": 148, "BloodP": 72, "BMI": 33.6, "Age": 50},
        },
    )


class ClassifierParams(BaseModel):
    """A classifier's predict takes no parameters."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ClassifierResult(BaseModel):
    """A tabular classifier's predict."""

    model_config = ConfigDict(populate_by_name=True)

    label: str = Field(alias="class", description="The most probable class, as written in the training table.")
    probabilities: dict[str, float] = Field(description="Probability per class (sums to 1).")


def _describe(feature: dict[str, Any]) -> str:
    if "min" not in feature:
        description: str = feature.get("description", "")
        return description
    return (
        f"{feature.get('description', '')} Training range {feature['min']:g} to {feature['max']:g}, "
        f"mean {feature['mean']:g}."
    ).strip()


@functools.lru_cache(maxsize=256)
def _build(title: str, names: tuple[str, ...], descriptions: tuple[str, ...]) -> type[BaseModel]:
    # Field names are positional because a column may be called anything ("blood pressure",
    # "json"); the alias is what clients send, and model_dump(by_alias=True) gives it back.
    fields: dict[str, Any] = {
        f"x{i}": (float, Field(alias=name, title=name, allow_inf_nan=False, description=description))
        for i, (name, description) in enumerate(zip(names, descriptions, strict=True))
    }
    # Strict: a JSON number only (no "5" or true); integers are numbers too.
    return create_model(title, __config__=ConfigDict(extra="forbid", strict=True), **fields)


def input_model(manifest: Manifest) -> type[BaseModel]:
    """The record of this version: each feature a required finite number, under its column name."""
    features = manifest.details.get("features", [])
    return _build(f"{manifest.name} input", tuple(f["name"] for f in features), tuple(_describe(f) for f in features))
