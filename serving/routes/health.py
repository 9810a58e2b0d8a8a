"""The service's own endpoints: liveness, readiness, the model card and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.dependencies import ModelDep, unready_reason
from serving.metrics import exposition
from serving.schemas import HealthResponse, ReadyResponse

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthResponse, summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"description": "The model is not loaded yet, or the server is draining."}},
    summary="Readiness: model loaded and warmed up, and not draining",
)
async def ready(model: ModelDep) -> dict[str, str]:
    if reason := unready_reason(model):
        raise HTTPException(503, reason)
    return {"status": "ready", "model_version": model.version}


@router.get("/metadata", summary="The model card: features, classes, metrics, parity, versions")
async def metadata(model: ModelDep) -> dict[str, Any]:
    return model.card


@router.get(
    "/metrics", summary="Prometheus metrics, summed over the server's workers", response_class=Response
)
async def metrics() -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
