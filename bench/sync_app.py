"""The synchronous baseline: POST /predict scores one signup in the request, with the same model.

MODEL_DIR=... gunicorn -w 2 -b 127.0.0.1:8101 bench.sync_app:app
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request

from models.interests.predict import predict
from models.manifest import ModelStore
from models.registry import Registry

app = Flask(__name__)
_registry = Registry(ModelStore(os.environ["MODEL_DIR"]))


@app.post("/predict")
def predict_one():
    """Score the posted signup and answer with the result."""
    record = request.get_json()["input"]
    return jsonify(predict(_registry.get("interests"), [record], {})[0])
