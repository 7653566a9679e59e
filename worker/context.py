"""What a model handler sees of its job: the model, the records, the parameters, progress and stop checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobqueue import contract
from models.loader import LoadedModel
from worker.runtime import Runtime


@dataclass(frozen=True)
class JobContext:
    """Everything a model handler sees: the model, the records, the parameters, and progress."""

    runtime: Runtime
    job_id: str
    model: LoadedModel
    records: list[dict[str, Any]]
    params: dict[str, Any]
    worker: str = ""

    def report_progress(self, done: int, total: int) -> None:
        """Record how far the job has come."""
        self.runtime.jobs.progress(self.job_id, done, total)

    def canceled(self) -> bool:
        """True once the client canceled the job (long handlers check between chunks)."""
        record = self.runtime.jobs.get(self.job_id)
        return record is None or record["status"] == contract.CANCELED
