"""The service FastAPI's tutorial teaches, for any model: a pydantic body parameter, a sync
``def`` endpoint (so each request hops to the thread pool), ``response_model`` from the return
annotation. Two peers serve it: ``fastapi_onnx_app`` (onnxruntime, in its own venv) and the
naive peer (``bench/peers/naive.py``: the pickled scikit-learn pipeline, in the repo's venv).
Imports nothing of the repo, so either venv can load it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

# rows (float32, [N, 13]) -> (label index per row, class probabilities per row)
Infer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class PredictRequest(BaseModel):
    instances: list[list[float]]


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[Prediction]


def build_app(infer: Infer, classes: list[str], version: str) -> FastAPI:
    app = FastAPI(title="wine classifier")

    @app.post("/predict")
    def predict(request: PredictRequest) -> PredictResponse:
        labels, probabilities = infer(np.array(request.instances, dtype=np.float32))
        return PredictResponse(
            model_version=version,
            predictions=[
                Prediction(label=classes[label], probabilities=dict(zip(classes, row, strict=True)))
                for label, row in zip(labels.tolist(), probabilities.tolist(), strict=True)
            ],
        )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
