"""Tensors in and out of the Open Inference Protocol: the model's one input from JSON ``data``
or from raw bytes (Triton's binary tensor data extension), and its outputs as either.

The binary path is the batch path: the input is one ``np.frombuffer`` over the request body
and each output one ``tobytes()``, with no Python object per value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
from starlette.responses import Response

from serving.model import Model, Prediction
from serving.oip.schemas import (
    InferenceError,
    InferenceRequest,
    InferenceResponse,
    RequestInput,
    ResponseOutput,
    TensorMetadata,
)

HEADER_LENGTH = "inference-header-content-length"
# Protocol datatypes for the ONNX tensor types this model has, and their little-endian layout.
DATATYPES = {"tensor(float)": "FP32", "tensor(int64)": "INT64"}
LAYOUTS: dict[str, np.dtype[Any]] = {"FP32": np.dtype("<f4"), "INT64": np.dtype("<i8")}


def tensor_metadata(tensors: Sequence[ort.NodeArg]) -> list[TensorMetadata]:
    """The graph's inputs or outputs as the protocol describes them (-1: any size)."""
    return [
        TensorMetadata(
            name=tensor.name,
            datatype=DATATYPES[tensor.type],
            shape=[dim if isinstance(dim, int) else -1 for dim in tensor.shape],
        )
        for tensor in tensors
    ]


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    """The JSON header and the raw tensor bytes after it (none without the length header)."""
    if header_length is None:
        return body, memoryview(b"")
    if not header_length.isdigit():
        raise InferenceError(400, "Inference-Header-Content-Length must be a non-negative integer")
    length = int(header_length)
    if length > len(body):
        raise InferenceError(
            400, f"Inference-Header-Content-Length is {length}, but the body has only {len(body)} bytes"
        )
    return body[:length], memoryview(body)[length:]


def input_rows(request: InferenceRequest, binary: memoryview, model: Model, max_rows: int) -> np.ndarray:
    """The request's one input as the model's float32 matrix, after every check the protocol
    leaves to the server: name, datatype, shape, size and finite values."""
    if len(request.inputs) != 1 or request.inputs[0].name != model.input_name:
        names = [tensor.name for tensor in request.inputs]
        raise InferenceError(400, f"expected one input named {model.input_name!r}, got {names}")
    tensor = request.inputs[0]
    n_features = len(model.feature_names)
    if tensor.datatype != "FP32":
        raise InferenceError(400, f"input {tensor.name!r} must be FP32, got {tensor.datatype}")
    if len(tensor.shape) != 2 or tensor.shape[1] != n_features or not 1 <= tensor.shape[0] <= max_rows:
        raise InferenceError(
            400,
            f"input {tensor.name!r} must have shape [N, {n_features}] with 1 <= N <= {max_rows}, "
            f"got {tensor.shape}",
        )
    rows = _binary_values(tensor, binary) if _is_binary(tensor) else _json_values(tensor, binary)
    if not np.isfinite(rows).all():
        raise InferenceError(400, f"input {tensor.name!r} has values that are not finite float32 numbers")
    return rows


def _is_binary(tensor: RequestInput) -> bool:
    return tensor.parameters is not None and tensor.parameters.binary_data_size is not None


def _binary_values(tensor: RequestInput, binary: memoryview) -> np.ndarray:
    assert tensor.parameters is not None and tensor.parameters.binary_data_size is not None
    expected = math.prod(tensor.shape) * LAYOUTS["FP32"].itemsize
    size = tensor.parameters.binary_data_size
    if tensor.data is not None:
        raise InferenceError(400, f"input {tensor.name!r} has both data and binary_data_size")
    if size != expected:
        raise InferenceError(
            400, f"input {tensor.name!r} of shape {tensor.shape} needs {expected} bytes, not {size}"
        )
    if len(binary) != size:
        raise InferenceError(
            400, f"binary_data_size is {size}, but {len(binary)} bytes follow the JSON header"
        )
    return np.frombuffer(binary, dtype=LAYOUTS["FP32"]).reshape(tensor.shape)


def _json_values(tensor: RequestInput, binary: memoryview) -> np.ndarray:
    if len(binary):
        raise InferenceError(
            400, f"{len(binary)} bytes follow the JSON header, but no input has binary_data_size"
        )
    if tensor.data is None:
        raise InferenceError(400, f"input {tensor.name!r} has no data")
    try:
        with np.errstate(over="ignore"):  # beyond float32's range: inf, refused as not finite
            values = np.asarray(tensor.data, dtype=np.float32)
    except ValueError:  # rows of different lengths
        values = np.empty(0, dtype=np.float32)
    if values.size != math.prod(tensor.shape) or (values.ndim == 2 and values.shape[1] != tensor.shape[1]):
        raise InferenceError(400, f"input {tensor.name!r} data does not fill its shape {tensor.shape}")
    return values.reshape(tensor.shape)


def requested_outputs(request: InferenceRequest, available: list[str]) -> dict[str, bool]:
    """The outputs to return, each with whether it goes as raw bytes."""
    default_binary = request.parameters is not None and request.parameters.binary_data_output
    if request.outputs is None:
        return dict.fromkeys(available, default_binary)
    names = [output.name for output in request.outputs]
    unknown = [name for name in names if name not in available]
    if unknown or len(set(names)) != len(names):
        raise InferenceError(400, f"outputs must be distinct names among {available}, got {names}")
    return {
        output.name: default_binary
        if output.parameters is None or output.parameters.binary_data is None
        else output.parameters.binary_data
        for output in request.outputs
    }


def inference_response(
    request: InferenceRequest, prediction: Prediction, outputs: dict[str, bool], model: Model
) -> Response:
    """JSON if every output goes as data; else the JSON header, then each binary output's bytes."""
    # The graph's outputs, by the names and datatypes GET /v2/models/{name} gives.
    tensors = {"label": ("INT64", prediction.label), "probabilities": ("FP32", prediction.probabilities)}
    described: list[ResponseOutput] = []
    chunks: list[bytes] = []
    for name, binary in outputs.items():
        datatype, values = tensors[name]
        output = ResponseOutput(name=name, shape=list(values.shape), datatype=datatype)
        if binary:
            raw = values.astype(LAYOUTS[datatype], copy=False).tobytes()
            output.parameters = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            output.data = values.ravel().tolist()
        described.append(output)
    response = InferenceResponse(
        model_name=model.name, model_version=model.version, id=request.id, outputs=described
    )
    header = orjson.dumps(response.model_dump(exclude_none=True))
    if not chunks:
        return Response(header, media_type="application/json")
    return Response(
        b"".join([header, *chunks]),
        media_type="application/octet-stream",
        headers={HEADER_LENGTH: str(len(header))},
    )
