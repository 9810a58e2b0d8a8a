"""The Open Inference Protocol on the app (TestClient): health, metadata, readiness, inference in
JSON and in Triton's binary tensor data extension, its predictions equal to /predict's, and a
clear {"error": ...} 4xx for every kind of bad request."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from serving.config import get_settings
from tests.serving.oip_client import model_metadata

HEADER_LENGTH = "inference-header-content-length"


@pytest.fixture(scope="module")
def rows(holdout: dict[str, Any]) -> np.ndarray:
    return np.asarray(holdout["rows"], dtype=np.float32)


def _infer_url(metadata: dict[str, Any]) -> str:
    return f"/v2/models/{metadata['name']}/infer"


def _json_request(rows: np.ndarray, **extra: Any) -> dict[str, Any]:
    tensor = {"name": "X", "shape": list(rows.shape), "datatype": "FP32", "data": rows.ravel().tolist()}
    return {"inputs": [tensor], **extra}


def _binary_request(rows: np.ndarray, outputs_binary: bool = True) -> tuple[bytes, dict[str, str]]:
    raw = rows.astype("<f4").tobytes()
    tensor = {
        "name": "X",
        "shape": list(rows.shape),
        "datatype": "FP32",
        "parameters": {"binary_data_size": len(raw)},
    }
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": outputs_binary}}).encode()
    return header + raw, {HEADER_LENGTH: str(len(header)), "content-type": "application/octet-stream"}


def _binary_outputs(body: bytes, header_length: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    header = json.loads(body[:header_length])
    arrays, offset = {}, header_length
    layouts = {"FP32": "<f4", "INT64": "<i8"}
    for output in header["outputs"]:
        if "data" in output:
            continue
        size = output["parameters"]["binary_data_size"]
        chunk = body[offset : offset + size]
        arrays[output["name"]] = np.frombuffer(chunk, dtype=layouts[output["datatype"]]).reshape(
            output["shape"]
        )
        offset += size
    assert offset == len(body)
    return header, arrays


def _predict(client: TestClient, rows: np.ndarray) -> list[dict[str, Any]]:
    response = client.post("/predict", json={"instances": rows.tolist()})
    assert response.status_code == 200
    predictions: list[dict[str, Any]] = response.json()["predictions"]
    return predictions


# ---------------------------------------------------------------- health and metadata
def test_health_and_server_metadata(client: TestClient, metadata: dict[str, Any]) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    server = client.get("/v2").json()
    assert server["version"] == metadata["version"]
    assert "binary_tensor_data" in server["extensions"]


def test_model_metadata_is_the_onnx_graphs(client: TestClient, metadata: dict[str, Any]) -> None:
    assert metadata["name"] == "wine-classifier"  # the model name clients address
    for path in (
        f"/v2/models/{metadata['name']}",
        f"/v2/models/{metadata['name']}/versions/{metadata['version']}",
    ):
        assert client.get(path).json() == model_metadata(metadata)


def test_model_readiness(client: TestClient, metadata: dict[str, Any]) -> None:
    # Not ready before the model is warm: tests/serving/test_create_app.py.
    path = f"/v2/models/{metadata['name']}/ready"
    assert client.get(path).json() == {"name": metadata["name"], "ready": True}


# ---------------------------------------------------------------- inference
def test_json_inference_equals_predict(
    client: TestClient, metadata: dict[str, Any], rows: np.ndarray
) -> None:
    response = client.post(_infer_url(metadata), json=_json_request(rows, id="req-1"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == (
        metadata["name"],
        metadata["version"],
        "req-1",
    )
    outputs = {output["name"]: output for output in body["outputs"]}
    assert outputs["label"]["datatype"] == "INT64" and outputs["label"]["shape"] == [len(rows)]
    assert outputs["probabilities"]["datatype"] == "FP32" and outputs["probabilities"]["shape"] == [
        len(rows),
        3,
    ]
    expected = _predict(client, rows)
    assert [metadata["classes"][i] for i in outputs["label"]["data"]] == [p["label"] for p in expected]
    probabilities = np.asarray(outputs["probabilities"]["data"]).reshape(len(rows), 3)
    for row, prediction in zip(probabilities, expected, strict=True):
        assert row == pytest.approx([prediction["probabilities"][c] for c in metadata["classes"]], abs=1e-6)


def test_json_data_may_come_one_list_per_row(
    client: TestClient, metadata: dict[str, Any], rows: np.ndarray
) -> None:
    nested = _json_request(rows[:3])
    nested["inputs"][0]["data"] = rows[:3].tolist()

    flat = client.post(_infer_url(metadata), json=_json_request(rows[:3])).json()
    assert client.post(_infer_url(metadata), json=nested).json() == flat


def test_a_request_may_select_its_outputs(
    client: TestClient, metadata: dict[str, Any], rows: np.ndarray
) -> None:
    request = _json_request(rows[:2], outputs=[{"name": "probabilities"}])

    body = client.post(_infer_url(metadata), json=request).json()

    assert [output["name"] for output in body["outputs"]] == ["probabilities"]


def test_binary_inference_equals_predict(
    client: TestClient, metadata: dict[str, Any], rows: np.ndarray
) -> None:
    body, headers = _binary_request(rows)

    response = client.post(_infer_url(metadata), content=body, headers=headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    header, arrays = _binary_outputs(response.content, int(response.headers[HEADER_LENGTH]))
    assert header["model_name"] == metadata["name"]
    assert arrays["label"].dtype == np.int64 and arrays["probabilities"].dtype == np.float32
    expected = _predict(client, rows)
    assert [metadata["classes"][i] for i in arrays["label"]] == [p["label"] for p in expected]
    json_outputs = client.post(_infer_url(metadata), json=_json_request(rows)).json()["outputs"]
    assert arrays["probabilities"].ravel().tolist() == json_outputs[1]["data"]  # the same float32 values


def test_binary_input_with_json_outputs_and_per_output_choice(
    client: TestClient, metadata: dict[str, Any], rows: np.ndarray
) -> None:
    body, headers = _binary_request(rows[:4], outputs_binary=False)
    as_json = client.post(_infer_url(metadata), content=body, headers=headers)
    assert as_json.headers["content-type"] == "application/json"
    assert [o["name"] for o in as_json.json()["outputs"]] == ["label", "probabilities"]

    request = _json_request(
        rows[:4], outputs=[{"name": "label", "parameters": {"binary_data": True}}, {"name": "probabilities"}]
    )
    mixed = client.post(_infer_url(metadata), json=request)
    header, arrays = _binary_outputs(mixed.content, int(mixed.headers[HEADER_LENGTH]))
    assert list(arrays) == ["label"]
    assert header["outputs"][1]["name"] == "probabilities" and len(header["outputs"][1]["data"]) == 12


def test_openapi_documents_both_protocols(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    tags = {operation["tags"][0] for path in schema["paths"].values() for operation in path.values()}
    assert {"predict", "open inference protocol"} <= tags
    infer = schema["paths"]["/v2/models/{model_name}/infer"]["post"]
    assert set(infer["requestBody"]["content"]) == {"application/json", "application/octet-stream"}
    assert {"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/{model_name}/ready"} <= set(
        schema["paths"]
    )


# ---------------------------------------------------------------- bad requests
def _with_input(**changes: Any) -> dict[str, Any]:
    tensor = {"name": "X", "shape": [1, 13], "datatype": "FP32", "data": [1.0] * 13} | changes
    return {"inputs": [tensor]}


JSON_CASES = [
    # (id, request, status, words the error must contain)
    ("wrong input name", _with_input(name="input"), 400, "expected one input named 'X'"),
    ("two inputs", {"inputs": [_with_input()["inputs"][0]] * 2}, 400, "expected one input named 'X'"),
    ("no inputs", {"inputs": []}, 400, "expected one input named 'X'"),
    ("missing inputs", {}, 400, "inputs: Field required"),
    ("wrong datatype", _with_input(datatype="INT64"), 400, "must be FP32"),
    ("wrong feature count", _with_input(shape=[1, 12], data=[1.0] * 12), 400, "shape [N, 13]"),
    ("one dimension", _with_input(shape=[13]), 400, "shape [N, 13]"),
    ("no rows", _with_input(shape=[0, 13], data=[]), 400, "shape [N, 13]"),
    ("negative dimension", _with_input(shape=[-1, 13]), 400, "greater than or equal to 0"),
    ("too many rows", _with_input(shape=[1001, 13], data=[1.0] * 13013), 400, "1 <= N <= 1000"),
    ("data short of its shape", _with_input(shape=[2, 13]), 400, "does not fill its shape"),
    (
        "ragged rows",
        _with_input(shape=[2, 13], data=[[1.0] * 13, [1.0] * 12]),
        400,
        "does not fill its shape",
    ),
    ("a string value", _with_input(data=["1.5"] + [1.0] * 12), 400, "valid number"),
    ("a boolean value", _with_input(data=[True] + [1.0] * 12), 400, "valid number"),
    ("a null value", _with_input(data=[None] + [1.0] * 12), 400, "valid number"),
    ("beyond float32", _with_input(data=[1e39] + [1.0] * 12), 400, "not finite float32"),
    ("no data", _with_input(data=None), 400, "has no data"),
    (
        "unknown output",
        _with_input() | {"outputs": [{"name": "logits"}]},
        400,
        "outputs must be distinct names",
    ),
    (
        "repeated output",
        _with_input() | {"outputs": [{"name": "label"}] * 2},
        400,
        "outputs must be distinct names",
    ),
]


@pytest.mark.parametrize(
    ("request_body", "status", "words"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_bad_json_inference_requests_get_a_clear_4xx(
    client: TestClient, metadata: dict[str, Any], request_body: dict[str, Any], status: int, words: str
) -> None:
    response = client.post(_infer_url(metadata), json=request_body)

    assert response.status_code == status
    assert words in response.json()["error"], response.json()
    assert set(response.json()) == {"error"}


def _binary_case(
    rows: int = 1,
    size: int | None = None,
    header_length: str | None = None,
    extra_bytes: bytes = b"",
    **tensor: Any,
) -> tuple[bytes, dict[str, str]]:
    raw = np.ones((rows, 13), dtype="<f4").tobytes()
    described = {
        "name": "X",
        "shape": [rows, 13],
        "datatype": "FP32",
        "parameters": {"binary_data_size": len(raw) if size is None else size},
    } | tensor
    header = json.dumps({"inputs": [described]}).encode()
    return header + raw + extra_bytes, {HEADER_LENGTH: header_length or str(len(header))}


NAN = np.array([np.nan] + [1.0] * 12, dtype="<f4").tobytes()
BINARY_CASES = [
    ("size disagrees with shape", _binary_case(size=48), 400, "needs 52 bytes, not 48"),
    (
        "bytes missing",
        _binary_case(size=104, shape=[2, 13]),
        400,
        "binary_data_size is 104, but 52 bytes follow",
    ),
    ("extra bytes", _binary_case(extra_bytes=b"\0" * 4), 400, "56 bytes follow the JSON header"),
    ("data and binary both", _binary_case(data=[1.0] * 13), 400, "both data and binary_data_size"),
    ("header length not a number", _binary_case(header_length="ten"), 400, "non-negative integer"),
    ("header length past the body", _binary_case(header_length="100000"), 400, "has only"),
    ("header cut short", _binary_case(header_length="10"), 400, "Invalid JSON"),
]


@pytest.mark.parametrize(
    ("case", "status", "words"), [c[1:] for c in BINARY_CASES], ids=[c[0] for c in BINARY_CASES]
)
def test_bad_binary_inference_requests_get_a_clear_4xx(
    client: TestClient, metadata: dict[str, Any], case: tuple[bytes, dict[str, str]], status: int, words: str
) -> None:
    body, headers = case
    response = client.post(_infer_url(metadata), content=body, headers=headers)

    assert response.status_code == status
    assert words in response.json()["error"], response.json()


def test_binary_values_that_are_not_finite_are_refused(client: TestClient, metadata: dict[str, Any]) -> None:
    header = json.dumps(
        {
            "inputs": [
                {"name": "X", "shape": [1, 13], "datatype": "FP32", "parameters": {"binary_data_size": 52}}
            ]
        }
    ).encode()

    response = client.post(
        _infer_url(metadata), content=header + NAN, headers={HEADER_LENGTH: str(len(header))}
    )

    assert response.status_code == 400
    assert "not finite" in response.json()["error"]


def test_bytes_after_a_json_body_without_binary_inputs_are_refused(
    client: TestClient, metadata: dict[str, Any]
) -> None:
    header = json.dumps(_with_input()).encode()

    response = client.post(
        _infer_url(metadata), content=header + b"\0" * 8, headers={HEADER_LENGTH: str(len(header))}
    )

    assert response.status_code == 400
    assert "no input has binary_data_size" in response.json()["error"]


@pytest.mark.parametrize(
    "body", [b"", b"{", b"[]", b"\xff"], ids=["empty", "malformed", "not an object", "not UTF-8"]
)
def test_a_body_that_is_not_a_json_object_gets_400(
    client: TestClient, metadata: dict[str, Any], body: bytes
) -> None:
    response = client.post(_infer_url(metadata), content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.parametrize(
    "path",
    ["/v2/models/other/infer", "/v2/models/wine-classifier/versions/0/infer"],
    ids=["unknown model", "unknown version"],
)
def test_unknown_models_and_versions_get_404(client: TestClient, path: str) -> None:
    response = client.post(path, json=_with_input())

    assert response.status_code == 404
    assert "unknown model" in response.json()["error"]
    assert client.get(path.removesuffix("/infer")).status_code == 404
    assert client.get(path.replace("/infer", "/ready")).status_code == 404


def test_the_batch_limit_applies_to_the_binary_path(client: TestClient, metadata: dict[str, Any]) -> None:
    limit = get_settings().max_batch_size
    body, headers = _binary_case(rows=limit)
    assert client.post(_infer_url(metadata), content=body, headers=headers).status_code == 200
    body, headers = _binary_case(rows=limit + 1)
    assert client.post(_infer_url(metadata), content=body, headers=headers).status_code == 400
