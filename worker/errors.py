"""What a job handler raises instead of a result: a readable failure, a cancellation, or a hand-off to chunks."""

from __future__ import annotations


class JobError(Exception):
    """A failure the client can act on; ``type`` and the message go into the job's error."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_


class JobCanceled(Exception):
    """The client canceled the job while it ran; the handler stopped and the job stays canceled."""


class JobFannedOut(Exception):
    """The job was split into chunk tasks: it stays running until its last chunk is recorded."""
