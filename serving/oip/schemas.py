"""The Open Inference Protocol's JSON documents, as far as this model needs them.

https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/ and, for the
``binary_data*`` parameters, Triton's binary tensor data extension.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from serving.schemas import Number


class InferenceError(Exception):
    """Answered as the protocol's ``{"error": "..."}`` with ``status`` (see ``serving.errors``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ErrorResponse(BaseModel):
    error: str


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 for a dimension of any size.")


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class InputParameters(BaseModel):
    binary_data_size: Annotated[int, Field(ge=0)] | None = Field(
        None, description="The tensor's raw bytes follow the JSON header (binary tensor data extension)."
    )


class RequestInput(BaseModel):
    name: str
    shape: list[Annotated[int, Field(ge=0)]]
    datatype: str
    parameters: InputParameters | None = None
    data: list[Number] | list[list[Number]] | None = Field(
        None, description="The values in row-major order, flat or one list per row."
    )


class OutputParameters(BaseModel):
    binary_data: bool | None = Field(None, description="Return this output as raw bytes.")


class RequestOutput(BaseModel):
    name: str
    parameters: OutputParameters | None = None


class RequestParameters(BaseModel):
    binary_data_output: bool = Field(False, description="Return every output as raw bytes, by default.")


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: RequestParameters | None = None
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = Field(None, description="Which outputs to return; all by default.")


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]
