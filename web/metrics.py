"""GET /metrics (Prometheus text) and GET /scaling (the autoscaling signal), both computed from Redis.

Nothing is counted in this process: the job store's transitions keep the
counters in Redis (jobqueue/metrics.py), so any gunicorn worker of any web
host answers with the same numbers. Neither endpoint shows customer data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import redis
from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from jobqueue import contract, metrics, queues
from jobqueue.archive_stream import backlog
from jobqueue.records import text
from jobqueue.scaling import queue_signal, scaling_signal
from jobqueue.settings import Settings

bp = Blueprint("metrics", __name__)


class RedisJobCollector(Collector):
    """Renders the shared counters, queue states and scaling suggestions at scrape time."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        counted = metrics.read_metrics(self.client)
        jobs = CounterMetricFamily(
            "scoring_jobs", "Jobs that ended, by model, task and final status", labels=["model", "task", "status"]
        )
        for labels, value in sorted(counted.jobs.items()):
            jobs.add_metric(list(labels), value)
        submitted = CounterMetricFamily("scoring_jobs_submitted", "Jobs accepted and queued", labels=["model", "task"])
        for labels, value in sorted(counted.submitted.items()):
            submitted.add_metric(list(labels), value)
        duration = HistogramMetricFamily(
            "scoring_job_duration_seconds", "Time a job ran on a worker", labels=["queue", "model", "task"]
        )
        for labels, histogram in sorted(counted.durations.items()):
            duration.add_metric(list(labels), histogram.cumulative(), histogram.total)
        wait = HistogramMetricFamily(
            "scoring_job_queue_wait_seconds", "Time from a job's creation to its first start", labels=["queue"]
        )
        for queue, histogram in sorted(counted.waits.items()):
            wait.add_metric([queue], histogram.cumulative(), histogram.total)
        yield from (jobs, submitted, duration, wait)
        yield from self._queues()
        yield from self._archive()
        yield from self._drift()

    def _archive(self) -> Iterator[Metric]:
        waiting = backlog(self.client)
        entries = GaugeMetricFamily("scoring_archive_backlog_jobs", "Ended jobs (or changes) not archived yet")
        entries.add_metric([], waiting.entries)
        oldest = GaugeMetricFamily(
            "scoring_archive_oldest_seconds", "How long the oldest of them has waited for the archiver"
        )
        oldest.add_metric([], waiting.oldest_age_s)
        missed = CounterMetricFamily(
            "scoring_archive_missed_jobs",
            "Jobs never archived: expired (Redis forgot them first) or refused (by the database)",
            labels=["reason"],
        )
        counts = {text(k): int(v) for k, v in self.client.hgetall(metrics.ARCHIVE_COUNTS).items()}
        for reason in ("expired", "refused"):
            missed.add_metric([reason], counts.get(reason, 0))
        yield from (entries, oldest, missed)

    def _drift(self) -> Iterator[Metric]:
        labels = ["model", "version"]
        feature_psi = GaugeMetricFamily(
            "scoring_model_drift_psi",
            "Population stability index of a feature's recent inputs against training (active version)",
            labels=[*labels, "feature"],
        )
        prediction_psi = GaugeMetricFamily(
            "scoring_model_prediction_drift_psi", "PSI of the recent predictions against training", labels=labels
        )
        flagged = GaugeMetricFamily(
            "scoring_model_drift_flagged_features", "Features whose PSI is above 0.25", labels=labels
        )
        records = GaugeMetricFamily(
            "scoring_model_drift_window_records", "Records in the window the figures come from", labels=labels
        )
        for name, raw in sorted(self.client.hgetall(contract.DRIFT_FIGURES).items()):
            model, figures = text(name), json.loads(raw)
            version = figures["version"]
            for feature, value in figures["features"].items():
                if value is not None:
                    feature_psi.add_metric([model, version, feature], value)
            if figures["prediction"] is not None:
                prediction_psi.add_metric([model, version], figures["prediction"])
            flagged.add_metric([model, version], len(figures["flagged"]))
            records.add_metric([model, version], figures["records"])
        yield from (feature_psi, prediction_psi, flagged, records)

    def _queues(self) -> Iterator[Metric]:
        now = time.time()
        depth = GaugeMetricFamily("scoring_queue_depth", "Messages waiting in the queue", labels=["queue"])
        workers = GaugeMetricFamily(
            "scoring_workers_online", "Worker processes with a fresh heartbeat", labels=["queue"]
        )
        # Job queues only: the figures below are about jobs, and callbacks are deliveries.
        per_job_queue = {
            "oldest_age_s": GaugeMetricFamily(
                "scoring_queue_oldest_job_age_seconds", "Age of the oldest job still waiting", labels=["queue"]
            ),
            "throughput_per_min": GaugeMetricFamily(
                "scoring_queue_throughput_per_minute", "Jobs finished per minute, recent window", labels=["queue"]
            ),
            "suggested_workers": GaugeMetricFamily(
                "scoring_queue_suggested_workers",
                "Worker processes that meet the target wait (see /scaling)",
                labels=["queue"],
            ),
        }
        for queue in contract.QUEUES:
            state = queues.read_queue(self.client, queue, now)
            depth.add_metric([queue], state.depth)
            workers.add_metric([queue], state.workers)
            if queue in contract.JOB_QUEUES:
                signal = queue_signal(self.client, self.settings, queue, now, state)
                for name, family in per_job_queue.items():
                    family.add_metric([queue], getattr(signal, name))
        yield from (depth, workers, *per_job_queue.values())


def _registry() -> CollectorRegistry:
    registry = current_app.extensions.get("metrics_registry")
    if registry is None:
        # No process or platform collectors: a gunicorn worker's own figures
        # would describe whichever process happened to answer the scrape.
        registry = CollectorRegistry(auto_describe=False)
        registry.register(RedisJobCollector(current_app.extensions["redis"], current_app.config["SETTINGS"]))
        current_app.extensions["metrics_registry"] = registry
    return registry


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Prometheus text (or OpenMetrics, if asked); a 503 when Redis is unreachable: a failed scrape."""
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(_registry()), headers={"Content-Type": content_type})


@bp.get("/scaling")
def scaling() -> Response:
    """Per queue: depth, oldest job's age, recent arrivals and throughput, workers, suggested workers."""
    client = current_app.extensions["redis"]
    return jsonify(scaling_signal(client, current_app.config["SETTINGS"], time.time()))
