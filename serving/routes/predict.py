"""``POST /predict``: this app's own JSON protocol, rows in and a label per row out.

The router is made per app (``router``): the request's schema and the OpenAPI examples name the
model's features, so they are built from the model ``serving.app.create_app`` is given. The handler
reaches that model through ``ModelDep``, like every other route.
"""

# No `from __future__ import annotations`: the body's annotation names a class made in ``router``,
# which FastAPI could not resolve from a string.

from itertools import repeat
from typing import Annotated, Any, cast

import numpy as np
from fastapi import APIRouter, Body, Depends, Response

from serving.config import Settings
from serving.dependencies import ModelDep, require_json
from serving.json_body import OrjsonRoute
from serving.model import Model
from serving.schemas import PredictRequest, PredictResponse, predict_request_model

_ERROR = {"description": "A JSON object whose `detail` names the problem."}


def router(model: Model, settings: Settings) -> APIRouter:
    """``POST /predict`` for requests that fit ``model`` and ``settings.max_batch_size``."""
    request_model = predict_request_model(model.feature_names, settings.max_batch_size)
    predict_router = APIRouter(tags=["predict"], route_class=OrjsonRoute)

    @predict_router.post(
        "/predict",
        response_model=PredictResponse,
        dependencies=[Depends(require_json)],
        responses={400: _ERROR, 413: _ERROR, 415: _ERROR, 422: _ERROR},
        summary="Score a batch of wine samples",
    )
    async def predict(
        body: Annotated[request_model, Body(openapi_examples=_examples(model))],  # type: ignore[valid-type]
        model: ModelDep,
        response: Response,
    ) -> dict[str, Any]:
        # async def: no thread-pool hop for a model this fast.
        prediction = model.predict(cast(PredictRequest, body).rows())
        response.headers["server-timing"] = f"inference;dur={prediction.inference_seconds * 1000:.3f}"
        return {
            "model_version": model.version,
            "predictions": _predictions(prediction.labels, prediction.probabilities, model.classes),
        }

    return predict_router


def _examples(model: Model) -> dict[str, Any]:
    rows = model.card["example_instances"]
    return {
        "arrays": {"summary": "Rows as arrays in feature order", "value": {"instances": rows[:2]}},
        "objects": {
            "summary": "A row keyed by feature name",
            "value": {"instances": [dict(zip(model.feature_names, rows[0], strict=True))]},
        },
    }


def _predictions(labels: list[str], probabilities: np.ndarray, classes: list[str]) -> list[dict[str, Any]]:
    rounded = probabilities.astype(np.float64).round(6).tolist()
    by_class = map(dict, map(zip, repeat(classes), rounded))
    return [{"label": label, "probabilities": p} for label, p in zip(labels, by_class, strict=True)]
