"""The idiomatic FastAPI + onnxruntime service, as FastAPI's tutorial teaches it.

A pydantic body parameter, a sync ``def`` endpoint (so each request hops to the thread pool),
``response_model`` from the return annotation, run with ``uvicorn fastapi_onnx_app:app``. It runs
in its own virtual environment (``requirements.txt`` beside it), so it imports nothing of the
repo: the model file and its card come from the environment. It is given the app's session
options (one thread), so the comparison is of the serving layers, not of onnxruntime's threads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI
from pydantic import BaseModel

card = json.loads(Path(os.environ["BENCH_METADATA_PATH"]).read_text())
options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = 1
session = ort.InferenceSession(os.environ["BENCH_MODEL_PATH"], options, providers=["CPUExecutionProvider"])

app = FastAPI(title="wine classifier")


class PredictRequest(BaseModel):
    instances: list[list[float]]


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[Prediction]


@app.post("/predict")
def predict(request: PredictRequest) -> PredictResponse:
    labels, probabilities = session.run(None, {"X": np.array(request.instances, dtype=np.float32)})
    classes = card["classes"]
    return PredictResponse(
        model_version=card["version"],
        predictions=[
            Prediction(label=classes[label], probabilities=dict(zip(classes, row, strict=True)))
            for label, row in zip(labels.tolist(), probabilities.tolist(), strict=True)
        ],
    )


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
