"""What the iris classifier accepts and returns: four measurements in centimetres -> species."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from models.tabular.schema import Estimator
from models.training import TrainParams

KIND = "iris-classifier"
# Snake case first (what the schema documents), then the Kaggle CSV's names that existing clients send.
FEATURES = {
    "sepal_length": "SepalLengthCm",
    "sepal_width": "SepalWidthCm",
    "petal_length": "PetalLengthCm",
    "petal_width": "PetalWidthCm",
}


def _measurement(snake: str, camel: str) -> Any:
    return Field(
        validation_alias=AliasChoices(snake, camel),
        gt=0,
        le=100,
        allow_inf_nan=False,
        description=f"In centimetres; also accepted as {camel}.",
    )


class IrisInput(BaseModel):
    """One flower's sepal and petal measurements."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
                {"SepalLengthCm": 6.7, "SepalWidthCm": 3.0, "PetalLengthCm": 5.2, "PetalWidthCm": 2.3},
            ]
        },
    )

    sepal_length: float = _measurement("sepal_length", "SepalLengthCm")
    sepal_width: float = _measurement("sepal_width", "SepalWidthCm")
    petal_length: float = _measurement("petal_length", "PetalLengthCm")
    petal_width: float = _measurement("petal_width", "PetalWidthCm")


class IrisResult(BaseModel):
    """iris/predict."""

    species: str = Field(description="setosa, versicolor or virginica.")
    probabilities: dict[str, float] = Field(description="Probability per species (sums to 1).")


class IrisTrainParams(TrainParams):
    """Parameters of iris/train: retrain on the built-in data set, with a grid search per estimator."""

    estimator: Estimator = Field("svm", description="svm (scaled RBF kernel), logreg or forest.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Split, folds and estimator seed.")
