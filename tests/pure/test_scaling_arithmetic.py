"""The scaling signal's arithmetic: workers that keep up with arrivals and clear the backlog in time."""

from __future__ import annotations

from jobqueue.scaling import suggest
from jobqueue.settings import Settings

BOUNDS = Settings(scale_min_workers=1, scale_max_workers=20)


def test_suggestion_keeps_up_with_arrivals_and_clears_the_backlog_within_the_target_wait() -> None:
    def suggested(
        depth: int,
        arrivals_per_s: float,
        mean_job_s: float | None,
        target_wait_s: float,
        concurrency: int,
        workers: int = 1,
    ) -> int:
        return suggest(depth, arrivals_per_s, mean_job_s, target_wait_s, concurrency, workers, BOUNDS)

    # 1 job/s of 0.5 s keeps 0.5 slots busy; 30 waiting jobs of 0.5 s cleared in 5 s need 3 more: 2 workers of 2.
    assert suggested(depth=30, arrivals_per_s=1.0, mean_job_s=0.5, target_wait_s=5, concurrency=2) == 2
    # Exactly 4 busy slots fit in 2 workers of 2.
    assert suggested(depth=0, arrivals_per_s=8.0, mean_job_s=0.5, target_wait_s=5, concurrency=2) == 2
    # A longer target wait needs fewer workers for the same backlog.
    assert suggested(depth=300, arrivals_per_s=0, mean_job_s=1.0, target_wait_s=60, concurrency=1) == 5
    # Idle: the floor; swamped: the ceiling.
    assert suggested(depth=0, arrivals_per_s=0, mean_job_s=0.5, target_wait_s=5, concurrency=2) == 1
    assert suggested(depth=10**6, arrivals_per_s=0, mean_job_s=1, target_wait_s=5, concurrency=2) == 20
    # No timings yet: one step above the workers online while jobs wait, never a guess at the ceiling.
    assert suggested(depth=300, arrivals_per_s=1.0, mean_job_s=None, target_wait_s=5, concurrency=2, workers=0) == 1
    assert suggested(depth=300, arrivals_per_s=1.0, mean_job_s=None, target_wait_s=5, concurrency=2, workers=3) == 4
