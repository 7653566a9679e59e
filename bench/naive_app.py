"""The straightforward Flask + Celery build the service is compared with.

One ``delay()`` per request, results in Celery's Redis result backend, and
clients polling ``AsyncResult`` every 20 ms: the shape of most tutorials.

    REDIS_URL=... DATABASE_URL=... MODEL_DIR=... gunicorn -w 2 -b 127.0.0.1:8102 bench.naive_app:app
    REDIS_URL=... DATABASE_URL=... MODEL_DIR=... celery -A bench.naive_app:celery worker -c 2
"""

from __future__ import annotations

import os

from celery import Celery
from flask import Flask, jsonify, request

celery = Celery("naive", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
celery.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"], worker_hijack_root_logger=False
)
app = Flask(__name__)
_registry = None


@celery.task(name="naive.predict")
def predict_task(record: dict) -> dict:
    """Score one signup in the worker."""
    global _registry
    from jobqueue.settings import Settings
    from models.interests.predict import predict
    from models.loader import ModelLoader
    from models.store import ModelStore

    if _registry is None:
        _registry = ModelLoader(ModelStore.for_settings(Settings.from_env()))
    return predict(_registry.get("interests"), [record], {})[0]


@app.post("/predict")
def submit():
    """Queue the signup; answer with the task id to poll."""
    return jsonify({"id": predict_task.delay(request.get_json()["input"]).id}), 202


@app.get("/result/<task_id>")
def result(task_id: str):
    """The task's state, and its result once ready."""
    outcome = celery.AsyncResult(task_id)
    if not outcome.ready():
        return jsonify({"status": "pending"})
    return jsonify({"status": "succeeded", "result": outcome.get(timeout=1)})
