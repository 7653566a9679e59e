"""Wire models of the HTTP contract, declared once: they validate requests and generate the OpenAPI spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema, model_validator

from web.errors import MAX_ERROR_DETAILS

Status = Literal["queued", "running", "succeeded", "failed", "canceled"]


# A record or a batch is given when its field is present and not null (null reads as absent).
_RECORD: JsonValue = {"required": ["input"], "properties": {"input": {"type": "object"}}}
_BATCH: JsonValue = {"required": ["inputs"], "properties": {"inputs": {"type": "array"}}}
# The tasks whose parameters say they work on the model's own data (takes_records() is False in
# models/): every train task, and an explanation with scope global. tests/with_redis/test_bad_input.py
# checks that the spec and the service agree on which bodies need input.
_TAKES_NO_INPUT: JsonValue = {
    "anyOf": [
        {"required": ["task"], "properties": {"task": {"const": "train"}}},
        {
            "required": ["task", "params"],
            "properties": {
                "task": {"const": "explain"},
                "params": {"type": "object", "required": ["scope"], "properties": {"scope": {"const": "global"}}},
            },
        },
    ]
}


class JobRequest(BaseModel):
    """POST /jobs: a model, a task and exactly one of ``input`` or ``inputs``; neither for a task that takes none.

    A train task and an explanation with ``params.scope`` global work on the
    model's own data and take neither.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        protected_namespaces=(),
        json_schema_extra={
            # models.validation.validate_job, in the spec: which tasks need input, and never both forms.
            "if": _TAKES_NO_INPUT,
            "then": {"not": {"anyOf": [_RECORD, _BATCH]}},
            "else": {"oneOf": [_RECORD, _BATCH]},
            "examples": [
                {"model": "interests", "input": {"interests": ["surfing", "python"], "city": "Lisbon"}},
                {
                    "model": "interests",
                    "inputs": [
                        {"interests": ["jazz"], "city": "Paris"},
                        {"interests": ["chess", "python"], "city": "Berlin"},
                    ],
                },
                {"model": "credit", "input": {"customer_id": 100002}, "params": {"threshold": 0.6}},
                {"model": "credit", "task": "explain", "input": {"customer_id": 100002}},
                {"model": "credit", "task": "explain", "params": {"scope": "global", "sample_size": 1000}},
                {
                    "model": "iris",
                    "input": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
                },
                {
                    "model": "iris",
                    "model_version": "2026-11-22.1",
                    "input": {"SepalLengthCm": 6.7, "SepalWidthCm": 3.0, "PetalLengthCm": 5.2, "PetalWidthCm": 2.3},
                },
                {"model": "iris", "task": "train", "params": {"estimator": "svm", "activate": False}},
            ],
        },
    )

    model: str = Field(min_length=1, max_length=64, description="A name from GET /models.")
    task: str = Field(
        "predict", min_length=1, max_length=32, description="predict (default), or a task the model lists."
    )
    model_version: str | None = Field(None, max_length=64, description="Pin a version; default: the active one.")
    input: dict[str, Any] | None = Field(
        None,
        description="One record; the result is one object. Give input or inputs, except for a task that "
        "takes none (train, and credit explain with scope global), which gives neither.",
    )
    inputs: list[dict[str, Any]] | None = Field(
        None, min_length=1, description="A batch; the result is a list in the same order."
    )
    params: dict[str, Any] | None = Field(None, description="Task parameters (see GET /models/{name}).")
    callback_url: str | None = Field(
        None,
        max_length=2048,
        description="When the job ends, the service POSTs it here (the job object, signed "
        "with X-Scoring-Signature; retried with backoff). http or https, on a host that resolves to a public "
        "address; refused (422) if the service has no CALLBACK_SECRET.",
    )

    @model_validator(mode="after")
    def _at_most_one_input(self) -> "JobRequest":
        # Whether the task needs input at all is the model's call (models.validation.validate_job).
        if self.input is not None and self.inputs is not None:
            raise ValueError("give one of 'input' (one record) or 'inputs' (a batch), not both")
        return self

    @property
    def records(self) -> list[dict[str, Any]]:
        if self.inputs is not None:
            return self.inputs
        return [self.input] if self.input is not None else []


class Progress(BaseModel):
    done: int = Field(ge=0)
    total: int = Field(ge=0)


class JobFailure(BaseModel):
    type: str = Field(description="Machine-readable, e.g. model_unavailable, timeout, worker_lost.")
    message: str = Field(description="What went wrong and what to do about it.")


class CallbackState(BaseModel):
    """How delivery of a job's callback went (extension)."""

    url: str
    attempts: int = Field(description="Deliveries tried so far.")
    last_status: int | None = Field(description="HTTP status of the last attempt; null if none came back.")
    last_error: str | None = Field(description="Why the last attempt failed; null after a 2xx.")
    last_attempt_at: str | None
    delivered_at: str | None = Field(description="When a 2xx came back; null until then.")


class Job(BaseModel):
    """A job as clients see it."""

    model_config = ConfigDict(protected_namespaces=())

    id: str
    model: str
    model_version: str
    task: str
    status: Status
    progress: Progress
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str = Field(
        description="When Redis forgets the job; one that ended is then read from the archive, for "
        "ARCHIVE_RETENTION_DAYS after its creation."
    )
    attempts: int = Field(description="Times a worker started it (above 1 after a redelivery).")
    result: Any = Field(description="Set when succeeded; a list for batch jobs.")
    error: JobFailure | None
    callback: CallbackState | None = Field(description="Null unless the job was submitted with callback_url.")
    links: dict[str, str]


class JobList(BaseModel):
    """GET /jobs: newest first."""

    jobs: list[Job]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class Customer(BaseModel):
    """A customer of the credit model (GET /customers/{id}); features can be sent as a raw input."""

    customer_id: int
    features: dict[str, Any] = Field(description="Feature name -> value; null where missing.")
    links: dict[str, str]


class CustomerList(BaseModel):
    """GET /customers: in id order."""

    customers: list[Customer]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class ErrorDetail(BaseModel):
    field: str = Field(description="Dotted path of the bad field, e.g. inputs.3.city.")
    message: str
    type: str


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class ErrorInfo(BaseModel):
    type: str
    message: str
    details: list[ErrorDetail] = Field(
        [],
        max_length=MAX_ERROR_DETAILS,
        description=f"One entry per problem, in the order found; at most the first {MAX_ERROR_DETAILS}.",
    )
    # An optional key rather than a nullable one: the spec shows an integer, without a default.
    details_omitted: Annotated[int | None, WithJsonSchema({"type": "integer", "minimum": 1})] = Field(
        None,
        description=f"Extension: problems found beyond the first {MAX_ERROR_DETAILS}, not listed in details; "
        "present only when some were left out.",
        json_schema_extra=_no_default,
    )


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorInfo


class Erasure(BaseModel):
    """What an erasure touched (DELETE /customers/{id}/jobs, DELETE /jobs/{id}/inputs)."""

    customer_id: int | None = None
    job_id: str | None = None
    archive_rows: int = Field(description="Archived jobs whose inputs were erased now.")
    redis_records: int = Field(description="Job records in Redis whose inputs were erased now.")
    pending: int = Field(description="Jobs not ended yet: erased when they are archived.")
    kept: list[str] = Field(description="What an erased job keeps.")


class DriftFigure(BaseModel):
    """One feature's (or the prediction's) drift."""

    name: str
    type: Literal["numeric", "categorical"]
    psi: float | None = Field(description="Population stability index; null without records.")
    flagged: bool = Field(description="psi above the threshold, with at least min_records records.")
    records: int
    missing_share: dict[str, float] = Field(description="reference and window shares of missing values.")


class DriftReport(BaseModel):
    """GET /models/{name}/drift."""

    model_config = ConfigDict(protected_namespaces=())

    model: str
    version: str
    window: dict[str, Any] = Field(description="since, until, jobs, records, max_jobs, truncated.")
    reference: dict[str, Any] = Field(description="The training data compared with: version, rows, training_data.")
    threshold: float
    min_records: int
    features: list[DriftFigure]
    prediction: DriftFigure | None
    flagged: list[str] = Field(description="Names of the flagged features.")
