"""The one FastAPI app. EC2 runs it under uvicorn, ECS in a container, Lambda through Mangum.

``create_app`` only wires: settings, logging, the model, middleware and routers; the routes reach
the model and settings through ``app.state`` (``serving.dependencies``). ``app`` is the one every
deployment serves, made at import so that its model is loaded and warmed before a process serves
(in Lambda's init phase). Tests make their own apps with their own settings and model.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from serving import environment
from serving.config import Settings, get_settings
from serving.errors import inference_error, request_validation_error
from serving.logs import configure_logging
from serving.middleware.body_limit import BodyLimitMiddleware
from serving.middleware.body_timeout import BodyTimeoutMiddleware
from serving.middleware.telemetry import TelemetryMiddleware
from serving.model import Model, load_model
from serving.oip.schemas import InferenceError
from serving.routes import health, oip, predict
from serving.schemas import body_limit


def create_app(settings: Settings | None = None, model: Model | None = None) -> FastAPI:
    """The app for ``settings`` (the environment's by default) serving ``model`` (by default the
    one the settings name, loaded and warmed here)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    model = model or load_model(settings)

    app = FastAPI(
        title="One Model, Three Ways: wine classifier",
        version=model.version,
        summary="A scikit-learn random forest exported to ONNX, served with onnxruntime.",
        lifespan=_drain_on_sigterm(settings.drain_seconds) if settings.drain_seconds else None,
        # This app's telemetry is its Prometheus metrics and JSON log. FastAPI's native OpenTelemetry
        # support would look up the global providers on every request just to find none set.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.model = model
    app.include_router(predict.router(model, settings))
    app.include_router(health.router)
    app.include_router(oip.router)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(InferenceError, inference_error)

    # The last added runs first: telemetry sees every answer, the limits' 413 and 408 included.
    app.add_middleware(BodyTimeoutMiddleware, timeout_seconds=settings.body_timeout_seconds)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes or body_limit(model.feature_names, settings.max_batch_size),
    )
    app.add_middleware(
        TelemetryMiddleware, model_version=model.version, log_sample_rate=settings.log_sample_rate
    )
    return app


def _drain_on_sigterm(seconds: float) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        environment.drain_on_sigterm(seconds)  # under uvicorn, whose SIGTERM handler is set by now
        yield

    return lifespan


app = create_app()

# What is built by now lives as long as the process (the model, the routes, pydantic's
# validators: tens of thousands of objects). gc.freeze() moves it out of the collector's sight, so
# the collections a large request's allocations trigger stop walking it again and again
# (bench/README.md, "Why the app departs from the defaults", has the measured gain).
gc.freeze()
