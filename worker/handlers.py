"""Which function runs each (model kind, task): the only place the worker binds tasks to model code."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from models.commands import prune_after_publish
from models.credit import predict as credit_predict
from models.credit.schema import KIND as CREDIT
from models.interests import predict as interests_predict
from models.interests.schema import KIND as INTERESTS
from models.iris.schema import KIND as IRIS
from models.loader import LoadedModel
from models.manifest import Manifest
from models.tabular import predict as tabular_predict
from models.tabular.schema import KIND as TABULAR
from worker import fanout
from worker.context import JobContext
from worker.errors import JobCanceled, JobError

Handler = Callable[[JobContext], list[Any]]
# A vectorised scorer: (model, records, params) -> one result per record, in order.
# Micro-batches of predict jobs with equal params are scored by one call.
Predictor = Callable[[LoadedModel, list[dict[str, Any]], dict[str, Any]], list[Any]]


@contextmanager
def _known_customers(model: LoadedModel) -> Iterator[None]:
    # The web checked every id against this very version's table; a miss means the file changed.
    try:
        yield
    except credit_predict.UnknownCustomer as exc:
        raise JobError(
            "unknown_customer",
            f"{exc} in {model.manifest.name} {model.manifest.version}; GET /customers lists the known ones",
        ) from None


def _credit_predict(model: LoadedModel, records: list[dict[str, Any]], params: dict[str, Any]) -> list[Any]:
    with _known_customers(model):
        return credit_predict.predict(model, records, params)


def _iris_predict(model: LoadedModel, records: list[dict[str, Any]], params: dict[str, Any]) -> list[Any]:
    return [
        {"species": species, "probabilities": probabilities}
        for species, probabilities in tabular_predict.classify(model, records)
    ]


def _tabular_predict(model: LoadedModel, records: list[dict[str, Any]], params: dict[str, Any]) -> list[Any]:
    return tabular_predict.predict(model, records)


PREDICTORS: dict[str, Predictor] = {
    INTERESTS: interests_predict.predict,
    CREDIT: _credit_predict,
    IRIS: _iris_predict,
    TABULAR: _tabular_predict,
}


def _predict(job: JobContext) -> list[Any]:
    return PREDICTORS[job.model.manifest.kind](job.model, job.records, job.params)


def _credit_explain(job: JobContext) -> list[Any]:
    # shap is imported here, so only workers that run explanations (the heavy queue) load it.
    from models.credit import explain

    if job.params["scope"] == "local":
        with _known_customers(job.model):
            return explain.local(job.model, job.records, top=job.params["top"])
    return fanout.explain_globally(job)


def _training(module: str) -> Handler:
    """A handler registering a new version with ``<module>.train(store, name=, progress=, **params)``.

    The trainer is imported when a job needs it, so fast workers never load
    training code. It reports each step; a job canceled meanwhile stops before
    its version is created, so a canceled training registers nothing.
    """

    def run(job: JobContext) -> list[Any]:
        train = importlib.import_module(module).train

        def progress(done: int, total: int) -> None:
            job.report_progress(done, total)
            if done < total and job.canceled():
                raise JobCanceled()

        store = job.runtime.models.store
        manifest: Manifest = train(store, name=job.model.manifest.name, progress=progress, **job.params)
        # Each training bounds the history: older versions leave the registry, unless a job still pins them.
        prune_after_publish(store, job.runtime.settings, job.runtime.redis)
        return [
            {
                "version": manifest.version,
                "active": store.active_version(manifest.name) == manifest.version,
                "metrics": manifest.metrics,
            }
        ]

    return run


HANDLERS: dict[tuple[str, str], Handler] = {
    **{(kind, "predict"): _predict for kind in PREDICTORS},
    (INTERESTS, "train"): _training("models.interests.train"),
    (CREDIT, "explain"): _credit_explain,
    (CREDIT, "train"): _training("models.credit.train"),
    (IRIS, "train"): _training("models.iris.train"),
}


def resolve(kind: str, task: str) -> Handler:
    """The handler for a kind and task; the web validated both, so a miss is a deployment skew."""
    try:
        return HANDLERS[(kind, task)]
    except KeyError:
        raise JobError(
            "unsupported_task",
            f"this worker cannot run task {task!r} for models of kind {kind!r}; its code may be older than the web's",
        ) from None
