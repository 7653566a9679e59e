"""What every trainer shares, free of scikit-learn: its progress steps and the base of its job parameters.

A trainer reports ``progress(done, TRAIN_STEPS)`` after each step: data ready,
model fitted (the version does not exist yet, so a canceled training job stops
here and registers nothing), version published.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Progress = Callable[[int, int], None]
TRAIN_STEPS = 3
DATA_READY, FITTED, PUBLISHED = 1, 2, 3


def no_progress(done: int, total: int) -> None:
    """The progress callback of a trainer run outside a job."""


class TrainParams(BaseModel):
    """Parameters of a ``train`` job; a kind's subclass adds the ones its trainer takes.

    Every field is a keyword of the kind's ``train()`` function. Nothing here
    names a file: a training job only uses data that ships with the service,
    never a path a client chose.
    """

    # Strict: a JSON boolean only (no 1 or "true"), integers only as JSON integers.
    model_config = ConfigDict(extra="forbid", strict=True)

    activate: bool = Field(
        False,
        description="Serve the new version at once; otherwise it is only registered "
        "(activate it later with PUT /models/{name}/active).",
    )

    def takes_records(self) -> bool:
        """Training works on the model's own data; a train job takes no input."""
        return False

    def planned_work(self, n_records: int) -> int:
        """Progress counts the trainer's steps."""
        return TRAIN_STEPS


class TrainResult(BaseModel):
    """The result of a ``train`` job."""

    version: str = Field(description="The version the job registered.")
    active: bool = Field(description="Whether it now serves new jobs.")
    metrics: dict[str, Any] = Field(description="Its training metrics, as GET /models/{name} shows them.")


def trainer_parser(description: str, name: str | None) -> argparse.ArgumentParser:
    """A trainer's command line with the options they all share; ``name=None`` makes --name required.

    Where the version goes comes from the settings (DATABASE_URL, MODEL_DIR), as for every process.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--name", default=name, required=name is None, help="the model's name in the service")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-activate", action="store_true", help="register without serving it")
    return parser
