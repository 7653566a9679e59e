"""Every kind of model the service serves: its input record, its tasks and their parameters (no scikit-learn)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from models.credit import schema as credit_schema
from models.interests import schema as interests_schema
from models.iris import schema as iris_schema
from models.manifest import Manifest
from models.tabular import schema as tabular_schema
from models.training import TrainResult

Record = TypeVar("Record", bound=BaseModel)
# (field path, message) pairs
Problems = list[tuple[tuple[str, ...], str]]


def no_checks(record: BaseModel, manifest: Manifest) -> Problems:
    """For kinds whose input model says everything."""
    return []


@dataclass(frozen=True)
class KindSpec(Generic[Record]):
    """How one kind of model is called: its input record, its tasks and their parameters.

    A params model may define ``takes_records() -> bool`` (default: True) for a
    task that works on the model's own data instead of input (a global
    explanation, a training run), and ``planned_work(n_records) -> int`` for
    the job's progress total (default: the number of records).
    """

    kind: str
    # The input record; for a kind whose features differ per version (a model trained
    # from a user's table) this is the generic shape the OpenAPI document shows, and
    # ``input_model_for`` builds the version's own from its manifest.
    input_model: type[Record]
    # task name -> the model of its ``params`` object
    tasks: Mapping[str, type[BaseModel]]
    # Checks that need the manifest (a vocabulary, a customer list): (field path, message) pairs.
    check: Callable[[Record, Manifest], Problems] = no_checks
    # The results' wire models, for the OpenAPI document.
    result_models: tuple[type[BaseModel], ...] = ()
    input_model_for: Callable[[Manifest], type[Record]] | None = None

    def input_for(self, manifest: Manifest) -> type[Record]:
        """The record a version of this kind accepts."""
        return self.input_model_for(manifest) if self.input_model_for else self.input_model


# Each kind checks its own input record: the values differ in their type argument.
KINDS: dict[str, KindSpec[Any]] = {
    interests_schema.KIND: KindSpec(
        kind=interests_schema.KIND,
        input_model=interests_schema.InterestsInput,
        tasks={"predict": interests_schema.NoParams, "train": interests_schema.InterestsTrainParams},
        check=lambda record, manifest: interests_schema.check_known_interests(
            record, manifest.details.get("vocabulary", ())
        ),
        result_models=(interests_schema.InterestsResult, TrainResult),
    ),
    credit_schema.KIND: KindSpec(
        kind=credit_schema.KIND,
        input_model=credit_schema.CreditInput,
        tasks={
            "predict": credit_schema.PredictParams,
            "explain": credit_schema.ExplainParams,
            "train": credit_schema.CreditTrainParams,
        },
        check=credit_schema.check_record,
        result_models=(
            credit_schema.PredictResult,
            credit_schema.LocalExplanation,
            credit_schema.GlobalExplanation,
            TrainResult,
        ),
    ),
    iris_schema.KIND: KindSpec(
        kind=iris_schema.KIND,
        input_model=iris_schema.IrisInput,
        tasks={"predict": tabular_schema.ClassifierParams, "train": iris_schema.IrisTrainParams},
        result_models=(iris_schema.IrisResult, TrainResult),
    ),
    tabular_schema.KIND: KindSpec(
        kind=tabular_schema.KIND,
        input_model=tabular_schema.TabularInput,
        input_model_for=tabular_schema.input_model,
        tasks={"predict": tabular_schema.ClassifierParams},
        result_models=(tabular_schema.ClassifierResult,),
    ),
}
