"""The synchronous baseline: POST /predict scores one signup in the request, with the same model.

DATABASE_URL=... MODEL_DIR=... gunicorn -w 2 -b 127.0.0.1:8101 bench.sync_app:app
"""

from __future__ import annotations

from flask import Flask, jsonify, request

from jobqueue.settings import Settings
from models.interests.predict import predict
from models.loader import ModelLoader
from models.store import ModelStore

app = Flask(__name__)
_registry = ModelLoader(ModelStore.for_settings(Settings.from_env()))


@app.post("/predict")
def predict_one():
    """Score the posted signup and answer with the result."""
    record = request.get_json()["input"]
    return jsonify(predict(_registry.get("interests"), [record], {})[0])
