"""What the routes receive besides their parameters: the app's model and settings (put on
``app.state`` by ``serving.app.create_app``), and the JSON body check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError

from serving import environment
from serving.config import Settings
from serving.model import Model

# async def, here and below: FastAPI would run a plain def dependency in its thread pool, on every request.


async def app_model(request: Request) -> Model:
    model: Model = request.app.state.model
    return model


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ModelDep = Annotated[Model, Depends(app_model)]
SettingsDep = Annotated[Settings, Depends(app_settings)]


def unready_reason(model: Model) -> str | None:
    """Why this process should get no traffic now (``/ready`` and the Open Inference Protocol's
    readiness answer 503 with it), or None when it is ready."""
    if not model.ready:
        return "model not loaded"
    if environment.draining():  # after SIGTERM: the balancer stops routing here first
        return "draining"
    return None


async def require_json(request: Request) -> None:
    """415 unless the body is declared ``application/json`` (with or without parameters), and
    422 for an empty one: FastAPI would leave a body of another type unparsed, and take an
    empty one for a missing body."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise HTTPException(415, "Content-Type must be application/json")
    if not await request.body():  # FastAPI has read it already: this is its cached copy
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "Invalid JSON: the body is empty"}]
        )
