"""The send-only Celery app: broker, JSON serialisation and routes, and no task code or bootsteps.

The web and the command-line tools send tasks by name with it; the worker's
app (``worker.celery_app``) is built on it, so both agree on the wire format.
"""

from __future__ import annotations

import ssl
import uuid
from typing import Any

from celery import Celery

from jobqueue import contract
from jobqueue.settings import Settings


def create_celery_client(settings: Settings) -> Celery:
    """A Celery app that sends tasks to the queues of ``settings``' broker and runs none."""
    app = Celery("scoring")
    configure_client(app, settings)
    return app


def configure_client(app: Celery, settings: Settings) -> None:
    """Point ``app`` at the broker of ``settings``, with JSON only on the wire and the queues' routes."""
    app.conf.update(
        broker_url=settings.redis_url,
        # JSON only on the wire: a pickle from the broker would run code in the worker.
        task_serializer="json",
        accept_content=["json"],
        event_serializer="json",
        # Results live in the job record, written by the worker itself.
        task_ignore_result=True,
        task_default_queue=contract.Q_FAST,
        task_routes={name: {"queue": queue} for name, queue in contract.TASK_QUEUES.items()},
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "socket_connect_timeout": settings.redis_connect_timeout_s,
            "socket_keepalive": True,
            "health_check_interval": 10,
        },
        broker_connection_timeout=settings.redis_connect_timeout_s,
        # rediss:// (Heroku): the same certificate check as the job store's client.
        broker_use_ssl=_broker_ssl(settings),
        enable_utc=True,
    )


def send_callback(celery: Celery, job_id: str, attempt: int = 1, countdown: float | None = None) -> None:
    """Queue delivery attempt ``attempt`` of a finished job's callback; raises at once if the broker is gone
    (a worker's skipped redelivery of the job queues it again: see JobStore.start)."""
    celery.send_task(
        contract.DELIVER_CALLBACK,
        kwargs={"job_id": job_id, "attempt": attempt},
        queue=contract.Q_CALLBACKS,
        countdown=countdown,
        retry=False,
    )


def send_explain_chunk(celery: Celery, job_id: str, chunk: int) -> None:
    """Queue one chunk of a job split into chunks (heavy queue); raises at once if the broker is gone."""
    celery.send_task(
        contract.EXPLAIN_CHUNK,
        kwargs={"job_id": job_id, "chunk": chunk},
        task_id=f"{job_id}:{chunk}:{uuid.uuid4().hex[:8]}",
        queue=contract.Q_HEAVY,
        retry=False,
    )


def _broker_ssl(settings: Settings) -> dict[str, Any] | None:
    """kombu's TLS options for a ``rediss://`` broker, from REDIS_TLS_VERIFY and REDIS_TLS_CA_FILE."""
    if not settings.redis_url.startswith("rediss://"):
        return None
    options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED if settings.redis_tls_verify else ssl.CERT_NONE}
    if settings.redis_tls_ca_file:
        options["ssl_ca_certs"] = settings.redis_tls_ca_file
    return options
