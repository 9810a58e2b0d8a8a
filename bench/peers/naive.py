"""The naive peer: what public serverless-inference samples do.

FastAPI, the scikit-learn pipeline unpickled at import, a pydantic request model and a sync
``def`` endpoint (so every request hops to the thread pool). It is given the benefit of the
doubt where samples differ: one ``predict_proba`` call (not ``predict`` and ``predict_proba``)
and Mangum with ``lifespan="off"``. The pickle path comes from ``BENCH_NAIVE_MODEL``.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel

_bundle = joblib.load(os.environ["BENCH_NAIVE_MODEL"])
pipeline = _bundle["pipeline"]
classes: list[str] = _bundle["classes"]

app = FastAPI(title="naive peer")


class PredictRequest(BaseModel):
    instances: list[list[float]]


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[Prediction]


@app.post("/predict", response_model=PredictResponse)
def predict(request: PredictRequest) -> PredictResponse:
    probabilities = pipeline.predict_proba(np.array(request.instances, dtype=np.float32))
    return PredictResponse(
        model_version="naive",
        predictions=[
            Prediction(
                label=classes[int(row.argmax())], probabilities=dict(zip(classes, row.tolist(), strict=True))
            )
            for row in probabilities
        ],
    )


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


handler = Mangum(app, lifespan="off")
