"""The service's own endpoints: liveness, readiness, the model card and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.dependencies import ModelDep
from serving.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthResponse, summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"description": "The model is not loaded yet."}},
    summary="Readiness: model loaded and warmed up",
)
async def ready(model: ModelDep) -> dict[str, str]:
    if not model.ready:
        raise HTTPException(503, "model not loaded")
    return {"status": "ready", "model_version": model.version}


@router.get("/metadata", summary="The model card: features, classes, metrics, parity, versions")
async def metadata(model: ModelDep) -> dict[str, Any]:
    return model.card


@router.get("/metrics", summary="Prometheus metrics for this process", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
