"""Bad input gets a clear 4xx JSON error naming the problem, never a 500, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from serving.config import get_settings

ROW = "[14.2,1.7,2.4,15.6,127,2.8,3.06,0.28,2.29,5.64,1.04,3.92,1065]"
JSON = {"content-type": "application/json"}


def _row_with(value: str) -> str:
    return "[" + value + "," + ROW[1:].split(",", 1)[1]


CASES = [
    # (id, body, headers, status, words the error must contain)
    ("malformed json", b'{"instances": [', JSON, 422, "Invalid JSON"),
    ("not an object", b"[1, 2]", JSON, 422, "Input should be an object"),
    ("empty body", b"", JSON, 422, "Invalid JSON"),
    (
        "wrong content type",
        ('{"instances": [' + ROW + "]}").encode(),
        {"content-type": "text/plain"},
        415,
        "application/json",
    ),
    ("no content type", ('{"instances": [' + ROW + "]}").encode(), {}, 415, "application/json"),
    ("missing instances", b"{}", JSON, 422, "Field required"),
    (
        "extra top-level field",
        ('{"instances": [' + ROW + '], "debug": true}').encode(),
        JSON,
        422,
        "Extra inputs",
    ),
    ("empty batch", b'{"instances": []}', JSON, 422, "at least 1 item"),
    ("too few values", b'{"instances": [[1, 2, 3]]}', JSON, 422, "expected 13 values, got 3"),
    (
        "too many values",
        ('{"instances": [' + ROW[:-1] + ",1]]}").encode(),
        JSON,
        422,
        "expected 13 values, got 14",
    ),
    ("string value", ('{"instances": [' + _row_with('"14.2"') + "]}").encode(), JSON, 422, "valid number"),
    ("null value", ('{"instances": [' + _row_with("null") + "]}").encode(), JSON, 422, "valid number"),
    ("boolean value", ('{"instances": [' + _row_with("true") + "]}").encode(), JSON, 422, "valid number"),
    ("NaN", ('{"instances": [' + _row_with("NaN") + "]}").encode(), JSON, 422, "finite number"),
    ("Infinity", ('{"instances": [' + _row_with("-Infinity") + "]}").encode(), JSON, 422, "finite number"),
    ("beyond float32", ('{"instances": [' + _row_with("1e39") + "]}").encode(), JSON, 422, "float32 range"),
    ("instance is a number", b'{"instances": [5]}', JSON, 422, "array of numbers or an object"),
    ("missing feature", b'{"instances": [{"alcohol": 13.2}]}', JSON, 422, "missing features"),
    ("unknown feature", b'{"instances": [{"colour": 1}]}', JSON, 422, "unknown features ['colour']"),
    ("null feature value", b'{"instances": [{"alcohol": null}]}', JSON, 422, "valid number"),
]


@pytest.fixture
def client_after(client: TestClient) -> Iterator[TestClient]:
    """After every bad request, the same server still answers a good one."""
    yield client
    assert (
        client.post("/predict", content=('{"instances": [' + ROW + "]}").encode(), headers=JSON).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_bad_predict_bodies_get_a_clear_4xx(
    client_after: TestClient, body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    response = client_after.post("/predict", content=body, headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert words in response.text


def test_exact_feature_set_in_another_order_is_fine_but_a_renamed_one_is_not(
    client_after: TestClient,
) -> None:
    names = client_after.get("/metadata").json()["input"]["feature_names"]
    renamed = {("ALCOHOL" if name == "alcohol" else name): 1.0 for name in names}

    response = client_after.post("/predict", json={"instances": [renamed]})

    assert response.status_code == 422
    assert "missing features ['alcohol']" in response.text
    assert "unknown features ['ALCOHOL']" in response.text


def test_batch_over_the_limit_is_rejected(client_after: TestClient) -> None:
    limit = get_settings().max_batch_size
    body = '{"instances": [' + ",".join([ROW] * (limit + 1)) + "]}"

    response = client_after.post("/predict", content=body.encode(), headers=JSON)

    assert response.status_code == 422
    assert f"exceeds the limit of {limit}" in response.text


def test_batch_at_the_limit_is_scored(client_after: TestClient) -> None:
    limit = get_settings().max_batch_size
    body = '{"instances": [' + ",".join([ROW] * limit) + "]}"

    response = client_after.post("/predict", content=body.encode(), headers=JSON)

    assert response.status_code == 200
    assert len(response.json()["predictions"]) == limit


def test_body_over_the_size_limit_gets_413(client_after: TestClient) -> None:
    too_big = b" " * (get_settings().max_body_bytes + 1)

    response = client_after.post("/predict", content=too_big, headers=JSON)

    assert response.status_code == 413
    assert "request body exceeds" in response.json()["detail"]


def test_streamed_body_over_the_size_limit_gets_413_without_content_length(client_after: TestClient) -> None:
    chunk = b" " * 65536
    chunks = (get_settings().max_body_bytes // len(chunk)) + 2

    response = client_after.post("/predict", content=(chunk for _ in range(chunks)), headers=JSON)

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/predict", 405),
        ("DELETE", "/predict", 405),
        ("POST", "/health", 405),
    ],
)
def test_unknown_routes_and_methods(client_after: TestClient, method: str, path: str, status: int) -> None:
    response = client_after.request(method, path)

    assert response.status_code == status
    assert response.json()["detail"] in {"Not Found", "Method Not Allowed"}
