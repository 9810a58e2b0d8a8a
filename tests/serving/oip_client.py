"""The tritonclient checks every way must pass (the app under uvicorn here, the Lambda image
behind the local Function URL in tests/infra/test_oip_lambda.py). Not a test module itself."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import numpy as np
import tritonclient.http as triton

OUTPUTS = ("label", "probabilities")


def model_metadata(card: dict[str, Any]) -> dict[str, Any]:
    """What GET /v2/models/{name} must answer for the model card ``card``: the ONNX graph's tensors."""
    return {
        "name": card["name"],
        "versions": [card["version"]],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 13]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        ],
    }


def check_the_protocol(url: str, metadata: dict[str, Any], rows: np.ndarray) -> None:
    """``url`` is host:port. Liveness, readiness, metadata, then inference with binary data off
    and on, whose labels must equal /predict's for the same rows."""
    name = metadata["name"]
    client = triton.InferenceServerClient(url, connection_timeout=10, network_timeout=60)
    try:
        assert client.is_server_live()
        assert client.is_model_ready(name)
        assert client.get_model_metadata(name) == model_metadata(metadata)
        expected = _predict_labels(url, rows)
        for binary_data in (False, True):
            tensor = triton.InferInput("X", list(rows.shape), "FP32")
            tensor.set_data_from_numpy(rows, binary_data=binary_data)
            wanted = [triton.InferRequestedOutput(output, binary_data=binary_data) for output in OUTPUTS]

            result = client.infer(name, [tensor], outputs=wanted)

            assert [metadata["classes"][i] for i in result.as_numpy("label")] == expected, binary_data
            probabilities = result.as_numpy("probabilities")
            assert probabilities.dtype == np.float32 and probabilities.shape == (len(rows), 3)
            assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
            sent_as_bytes = "binary_data_size" in (result.get_output("label").get("parameters") or {})
            assert sent_as_bytes is binary_data
    finally:
        client.close()


def _predict_labels(url: str, rows: np.ndarray) -> list[str]:
    request = urllib.request.Request(
        f"http://{url}/predict",
        data=json.dumps({"instances": rows.tolist()}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return [prediction["label"] for prediction in json.loads(response.read())["predictions"]]
