"""The Open Inference Protocol's endpoints (see ``serving.oip``), on the same model as /predict.

Every model route also answers under ``/versions/{version}``, as the protocol allows; the one
version is the model card's. Errors are the protocol's ``{"error": "..."}`` (``serving.errors``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError

from serving.dependencies import ModelDep, SettingsDep, unready_reason
from serving.model import Model
from serving.oip.schemas import (
    ErrorResponse,
    InferenceError,
    InferenceRequest,
    InferenceResponse,
    Live,
    ModelMetadata,
    ModelReady,
    Ready,
    ServerMetadata,
)
from serving.oip.tensors import (
    inference_response,
    input_rows,
    requested_outputs,
    split_body,
    tensor_metadata,
)

router = APIRouter(prefix="/v2", tags=["open inference protocol"])

SERVER_NAME = "one-model-three-ways"
EXTENSIONS = ["binary_tensor_data"]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The request does not fit the model."},
    404: {"model": ErrorResponse, "description": "No such model or version."},
}
_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "The model is not loaded yet, or the server is draining."}
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place, so that it can stand inside
    the OpenAPI document (whose root its ``#/$defs/...`` references would otherwise name)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_INFER_BODY = {
    "description": "JSON; or, with Inference-Header-Content-Length, a JSON header of that many bytes "
    "followed by each binary input's raw little-endian bytes (Triton's binary tensor data extension).",
    "content": {
        "application/json": {"schema": _inlined(InferenceRequest.model_json_schema())},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
_INFER_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON; or, when an output is binary, a JSON header (its length in "
        "Inference-Header-Content-Length) followed by each binary output's raw bytes.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _model(model: Model, name: str, version: str | None = None) -> Model:
    """``model`` if the path names it (and its version, if any), else 404."""
    if name != model.name or version not in (None, model.version):
        raise InferenceError(404, f"unknown model {name!r}" + (f" version {version!r}" if version else ""))
    return model


@router.get("/health/live", response_model=Live, summary="Liveness")
async def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready", response_model=Ready, responses=_NOT_READY, summary="Readiness")
async def ready(model: ModelDep) -> dict[str, bool]:
    _raise_unless_ready(model)
    return {"ready": True}


def _raise_unless_ready(model: Model) -> None:
    if reason := unready_reason(model):
        raise InferenceError(503, reason)


@router.get("", response_model=ServerMetadata, summary="Server metadata")
async def server_metadata(model: ModelDep) -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": model.version, "extensions": EXTENSIONS}


@router.get("/models/{model_name}", response_model=ModelMetadata, responses=_ERRORS, summary="Model metadata")
@router.get(
    "/models/{model_name}/versions/{model_version}",
    response_model=ModelMetadata,
    responses=_ERRORS,
    include_in_schema=False,
)
async def model_metadata(
    model: ModelDep, model_name: str, model_version: str | None = None
) -> dict[str, Any]:
    model = _model(model, model_name, model_version)
    return {
        "name": model.name,
        "versions": [model.version],
        "platform": "onnxruntime_onnx",
        "inputs": tensor_metadata(model.session.get_inputs()),
        "outputs": tensor_metadata(model.session.get_outputs()),
    }


@router.get(
    "/models/{model_name}/ready",
    response_model=ModelReady,
    responses={**_ERRORS, **_NOT_READY},
    summary="Model readiness",
)
@router.get(
    "/models/{model_name}/versions/{model_version}/ready",
    response_model=ModelReady,
    responses=_ERRORS,
    include_in_schema=False,
)
async def model_ready(model: ModelDep, model_name: str, model_version: str | None = None) -> dict[str, Any]:
    model = _model(model, model_name, model_version)
    _raise_unless_ready(model)
    return {"name": model.name, "ready": True}


@router.post(
    "/models/{model_name}/infer",
    response_model=InferenceResponse,
    responses={**_INFER_RESPONSE, **_ERRORS},
    openapi_extra={"requestBody": _INFER_BODY},
    summary="Inference",
)
@router.post(
    "/models/{model_name}/versions/{model_version}/infer",
    response_model=InferenceResponse,
    responses={**_INFER_RESPONSE, **_ERRORS},
    include_in_schema=False,
)
async def infer(
    model: ModelDep,
    settings: SettingsDep,
    model_name: str,
    request: Request,
    inference_header_content_length: Annotated[str | None, Header()] = None,
    model_version: str | None = None,
) -> Response:
    # The body is a JSON header and raw bytes after it, which no body parameter describes: the
    # header is validated here by the same pydantic model that documents it above.
    model = _model(model, model_name, model_version)
    header, binary = split_body(await request.body(), inference_header_content_length)
    try:
        inference = InferenceRequest.model_validate_json(header)
    except ValidationError as error:
        raise InferenceError(400, _first_problem(error)) from None
    rows = input_rows(inference, binary, model, settings.max_batch_size)
    outputs = requested_outputs(inference, model.output_names)
    return inference_response(inference, model.predict(rows), outputs, model)


def _first_problem(error: ValidationError) -> str:
    entry = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in entry["loc"])
    return f"{where}: {entry['msg']}" if where else entry["msg"]
