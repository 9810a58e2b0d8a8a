"""The ASGI floor: one bare Starlette route doing the app's parse -> infer -> serialize work.

No validation beyond what parsing needs, no middleware, no metrics, no logging: what any ASGI
app serving this model through Mangum must pay at least. Same session options as the app.
"""

from __future__ import annotations

import numpy as np
import orjson
from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving.config import get_settings
from serving.model import load_model

model = load_model(get_settings())


async def predict(request: Request) -> Response:
    rows = np.asarray(orjson.loads(await request.body())["instances"], dtype=np.float32)
    prediction = model.predict(rows)
    probabilities = prediction.probabilities.astype(np.float64).round(6).tolist()
    predictions = [
        {"label": label, "probabilities": dict(zip(model.classes, row, strict=True))}
        for label, row in zip(prediction.labels, probabilities, strict=True)
    ]
    body = orjson.dumps({"model_version": model.version, "predictions": predictions})
    return Response(body, media_type="application/json")


async def health(_: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/health", health)])
handler = Mangum(app, lifespan="off")
