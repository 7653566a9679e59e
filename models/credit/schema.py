"""What the credit model accepts and returns on the wire, and the checks that need its manifest."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema, model_validator

from models.credit import customers
from models.manifest import ArtifactRefused, Manifest
from models.training import TrainParams

KIND = "credit-gbm"
# The largest global explanation one job may ask for; with the benchmarked
# ~0.4 ms per customer it stays well inside the heavy queue's time limit.
# Global explanations run as chunk tasks across the heavy processes: any size up to the whole
# customer table (the sample is capped at the table's size); this bounds a request's number.
MAX_SAMPLE_SIZE = 10_000_000
DEFAULT_SAMPLE_SIZE = 1_000

# Values stay as sent (no coercion of true to 1): check_record types them per
# feature, since only the manifest knows which features are numeric.
FeatureRecord = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {"type": "object", "maxProperties": 500, "additionalProperties": {"type": ["number", "string", "null"]}}
    ),
]


class CreditInput(BaseModel):
    """One applicant: a known customer's id, or a raw feature record (what-if scoring)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"customer_id": 100002},
                {
                    "features": {
                        "AMT_INCOME_TOTAL": 202500,
                        "AMT_CREDIT": 406597.5,
                        "EXT_SOURCE_2": 0.26,
                        "NAME_CONTRACT_TYPE": "Cash loans",
                        "DAYS_BIRTH": -9461,
                    }
                },
            ]
        },
    )

    # The upper bound is SQLite's: a larger id could never be a customer.
    customer_id: StrictInt | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="A customer of GET /customers. An id the model's customer table lacks is rejected at submit "
        "(422), so a queued job never fails for it.",
    )
    features: FeatureRecord | None = Field(
        None,
        max_length=500,
        description="Feature name -> value, as in GET /customers/{id}; null or omitted means missing (imputed "
        "as in training). Names, types and categories: GET /models/credit details.features.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> "CreditInput":
        if (self.customer_id is None) == (self.features is None):
            raise ValueError("give exactly one of 'customer_id' or 'features'")
        return self


class PredictParams(BaseModel):
    """Parameters of credit/predict."""

    # Strict, as the spec says: a JSON number (true is not 1.0, "0.5" is not 0.5).
    model_config = ConfigDict(extra="forbid", strict=True)

    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Refuse when the probability of default reaches this; default: the "
        "model's metrics.recommended_threshold.",
    )


class ExplainParams(BaseModel):
    """Parameters of credit/explain: one applicant's reasons (local) or the model's drivers (global)."""

    # Strict, as the spec says: integers are JSON integers ("10" and true are refused).
    model_config = ConfigDict(extra="forbid", strict=True)

    scope: Literal["local", "global"] = Field("local", description="local needs an input; global takes none.")
    top: int | None = Field(None, ge=1, le=50, description="local: how many top reasons (default 5).")
    sample_size: int | None = Field(
        None,
        ge=1,
        le=MAX_SAMPLE_SIZE,
        description=f"global: customers sampled (default {DEFAULT_SAMPLE_SIZE}, "
        f"at most {MAX_SAMPLE_SIZE}, capped at the customer count).",
    )
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="global: the sample's seed (default 0).")

    @model_validator(mode="after")
    def _fill_scope_defaults(self) -> "ExplainParams":
        wrong = {"local": ("sample_size", "seed"), "global": ("top",)}[self.scope]
        given = [name for name in wrong if getattr(self, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} does not apply to a {self.scope} explanation")
        if self.scope == "local":
            self.top = self.top or 5
        else:
            self.sample_size = self.sample_size or DEFAULT_SAMPLE_SIZE
            self.seed = self.seed or 0
        return self

    def takes_records(self) -> bool:
        """A global explanation samples the model's own customers instead of taking input."""
        return self.scope == "local"

    def planned_work(self, n_records: int) -> int:
        """Progress total: records for local, sampled customers for global."""
        return n_records if self.scope == "local" else int(self.sample_size or 0)


class CreditTrainParams(TrainParams):
    """Parameters of credit/train: refit on a fresh synthetic table (versions trained from a CSV lack this task)."""

    n_customers: int = Field(30_000, ge=1_000, le=200_000, description="Synthetic applications to train on.")
    max_iter: int = Field(300, ge=10, le=1_000, description="Boosting iterations.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the table, the split and the trees.")


class PredictResult(BaseModel):
    """credit/predict."""

    probability: float = Field(ge=0, le=1, description="Probability of default.")
    threshold: float = Field(description="The threshold applied.")
    decision: Literal["accepted", "refused"] = Field(description="refused when probability >= threshold.")


class Reason(BaseModel):
    feature: str
    value: Any = Field(description="The applicant's value (null: missing, imputed).")
    contribution: float = Field(description="Its SHAP value, in log-odds of default.")
    effect: Literal["raises_risk", "lowers_risk"]


class LocalExplanation(BaseModel):
    """credit/explain, scope local: sigmoid(base_value + sum(contributions)) == probability."""

    customer_id: int | None
    base_value: float = Field(description="The model's average output, in log-odds of default.")
    contributions: dict[str, float] = Field(description="SHAP value per feature, in log-odds.")
    probability: float
    top_reasons: list[Reason] = Field(description="The largest contributions by absolute value, largest first.")


class GlobalExplanation(BaseModel):
    """credit/explain, scope global."""

    sample_size: int
    seed: int
    importance: dict[str, float] = Field(description="Mean |SHAP| per feature (log-odds), largest first.")
    cached: bool = Field(description="true when an identical earlier job's result was reused.")


def check_record(record: CreditInput, manifest: Manifest) -> list[tuple[tuple[str, ...], str]]:
    """Known customer, or known feature names with values of the right type and known categories."""
    details = manifest.details
    if record.customer_id is not None:
        try:
            known = customers.get(manifest.file_path("customers"), details["id_column"], record.customer_id)
        except (ArtifactRefused, KeyError):
            return [(("customer_id",), "this model version has no customer table; send 'features' instead")]
        if known is None:
            return [(("customer_id",), f"unknown customer {record.customer_id}; GET /customers lists them")]
        return []
    spec = {f["name"]: f for f in details.get("features", [])}
    problems: list[tuple[tuple[str, ...], str]] = []
    for name, value in (record.features or {}).items():
        feature = spec.get(name)
        if feature is None:
            problems.append((("features", name), "not a feature of this model; GET /models/credit lists them"))
        elif value is None:
            continue
        elif feature["type"] == "numeric":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.append((("features", name), "must be a finite number or null"))
        elif feature["type"] == "categorical" and value not in feature["categories"]:
            problems.append((("features", name), "must be null or one of: " + ", ".join(feature["categories"])))
    return problems
