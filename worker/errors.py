"""What a job handler raises instead of a result: a readable failure, or a stop (canceled, worker stopping)."""

from __future__ import annotations


class JobError(Exception):
    """A failure the client can act on; ``type`` and the message go into the job's error."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_


class JobCanceled(Exception):
    """The client canceled the job while it ran; the handler stopped and the job stays canceled."""


class JobInterrupted(Exception):
    """The worker is stopping: the handler stopped between chunks so the job can be handed back."""
