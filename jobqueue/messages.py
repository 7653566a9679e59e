"""Celery task messages built ahead of time, so a job is recorded and queued in one Redis call.

Celery's own ``as_task_v2`` makes the headers and body; the envelope is what
kombu's Redis transport LPUSHes for a message to the default exchange (a list
named after the queue, JSON, base64 body). tests/test_messages.py compares it
field by field with one kombu publishes, so a library upgrade that changes the
format fails the suite instead of losing jobs.

Messages of one task differ only in the job id (which is also the task id) and
the delivery tag, so each (task, queue) is built once, with a placeholder id,
and filled in per job: ``as_task_v2`` costs more than the rest of a submit.
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from typing import Any

from celery import Celery
from kombu.serialization import dumps

_PLACEHOLDER = "JOBIDPLACEHOLDERJOBIDPLACEHOLDER"
_TAG_PLACEHOLDER = "DELIVERYTAGPLACEHOLDER"


def _envelope(app: Celery, task_name: str, task_id: str, kwargs: dict[str, Any], queue: str) -> dict[str, Any]:
    # ignore_result=None, as send_task leaves it: the worker then applies the task's own setting.
    # (celery-types says bool; Celery itself takes None, and send_task passes it.)
    message = app.amqp.as_task_v2(
        task_id,
        task_name,
        args=(),
        kwargs=kwargs,
        ignore_result=None,  # type: ignore[arg-type]
    )
    content_type, content_encoding, body = dumps(message.body, serializer="json")
    properties = dict(message.properties)
    properties.update(
        {
            "delivery_mode": 2,  # persistent
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": _TAG_PLACEHOLDER,
        }
    )
    return {
        "body": body,
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": message.headers,
        "properties": properties,
    }


@functools.lru_cache(maxsize=32)
def _template(app: Celery, task_name: str, queue: str) -> tuple[str, str]:
    """(envelope JSON with placeholders, decoded body with placeholders) for one task and queue."""
    envelope = _envelope(app, task_name, _PLACEHOLDER, {"job_id": _PLACEHOLDER}, queue)
    body = envelope.pop("body")
    envelope["body"] = "BODYPLACEHOLDER"
    return json.dumps(envelope), body


def job_message(app: Celery, task_name: str, job_id: str, queue: str) -> str:
    """The string kombu would push onto ``queue`` for ``send_task(task_name, kwargs={"job_id": ...})``."""
    envelope, body = _template(app, task_name, queue)
    encoded = base64.b64encode(body.replace(_PLACEHOLDER, job_id).encode()).decode()
    return (
        envelope.replace(_PLACEHOLDER, job_id)
        .replace(_TAG_PLACEHOLDER, str(uuid.uuid4()))
        .replace("BODYPLACEHOLDER", encoded)
    )
