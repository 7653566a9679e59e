"""The worker's process pool: Celery's prefork pool, except that a process lost while it starts is replaced."""

from __future__ import annotations

from celery.concurrency import prefork


class TaskPool(prefork.TaskPool):
    """Celery's prefork pool, which does not stop the worker for a pool process lost as the worker starts.

    As it starts consuming, Celery asks the pool once whether any of its
    processes has exited yet, and stops the whole worker if one has ("Could not
    start worker processes"). A pool process loads every active model before it
    reports up (worker.signals), so for seconds after the start one can be
    killed (the OOM killer, an operator) and take the worker, and under
    ``make run`` every other process, with it. Here the answer is always yes:
    the lost process is replaced as at any other time, by the pool's own
    watch on its processes. A pool whose processes keep dying is still
    stopped, by billiard's limit on restarts.
    """

    def did_start_ok(self) -> bool:
        return True
