"""Bad input gets a clear 4xx JSON error naming the problem, never a 500, and the server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from serving.config import get_settings
from serving.schemas import LONGEST_NUMBER, body_limit, largest_valid_body_bytes

ROW = "[14.2,1.7,2.4,15.6,127,2.8,3.06,0.28,2.29,5.64,1.04,3.92,1065]"
JSON = {"content-type": "application/json"}


def _row_with(value: str) -> str:
    return "[" + value + "," + ROW[1:].split(",", 1)[1]


CASES = [
    # (id, body, headers, status, words the error must contain)
    ("malformed json", b'{"instances": [', JSON, 422, "Invalid JSON"),
    ("not an object", b"[1, 2]", JSON, 422, "Input should be an object"),
    ("empty body", b"", JSON, 422, "Invalid JSON"),
    ("not UTF-8", b'{"instances": [\xff]}', JSON, 400, "error parsing the body"),  # FastAPI's answer
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


@pytest.mark.parametrize("row", ["[1]", "[]", "{}"], ids=["short rows", "empty rows", "empty objects"])
def test_batch_over_the_limit_is_rejected(client_after: TestClient, row: str) -> None:
    limit = get_settings().max_batch_size
    body = '{"instances": [' + ",".join([row] * (limit + 1)) + "]}"

    response = client_after.post("/predict", content=body.encode(), headers=JSON)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "value_error", "loc": ["body", "instances"], "msg": f"more than {limit} rows"}
    ]


def test_thirteen_thousand_empty_rows_are_refused_before_validation(client_after: TestClient) -> None:
    body = '{"instances": [' + ",".join(["[]"] * 13_000) + "]}"

    response = client_after.post("/predict", content=body.encode(), headers=JSON)

    assert response.status_code == 422
    assert "more than 1000 rows" in response.text


def test_more_values_than_a_full_batch_holds_is_refused_before_parsing(client_after: TestClient) -> None:
    limit = get_settings().max_batch_size
    body = '{"instances": [' + ",".join([ROW] * (limit + 1)) + "]}"

    response = client_after.post("/predict", content=body.encode(), headers=JSON)

    assert response.status_code == 422
    assert (
        f"more than {limit * 13} values: a request has at most {limit} rows of 13 features" in response.text
    )


def test_batch_at_the_limit_is_scored(client_after: TestClient) -> None:
    limit = get_settings().max_batch_size
    body = '{"instances": [' + ",".join([ROW] * limit) + "]}"

    response = client_after.post("/predict", content=body.encode(), headers=JSON)

    assert response.status_code == 200
    assert len(response.json()["predictions"]) == limit


def _longest_valid_rows(names: list[str]) -> list[dict[str, float]]:
    return [dict.fromkeys(names, LONGEST_NUMBER)] * get_settings().max_batch_size


@pytest.mark.parametrize("indent", [None, 2], ids=["json.dumps", "pretty-printed"])
def test_the_largest_valid_request_fits_the_body_limit_and_is_scored(
    client_after: TestClient, metadata: dict[str, Any], indent: int | None
) -> None:
    names = metadata["input"]["feature_names"]
    body = json.dumps({"instances": _longest_valid_rows(names)}, indent=indent).encode()

    response = client_after.post("/predict", content=body, headers=JSON)

    assert response.status_code == 200
    assert len(response.json()["predictions"]) == get_settings().max_batch_size


def test_the_body_limit_is_sized_from_the_largest_valid_request(metadata: dict[str, Any]) -> None:
    names, batch = metadata["input"]["feature_names"], get_settings().max_batch_size
    largest = len(json.dumps({"instances": _longest_valid_rows(names)}).encode())
    array_rows = len(json.dumps({"instances": [[LONGEST_NUMBER] * len(names)] * batch}).encode())

    assert largest_valid_body_bytes(names, batch) == largest
    assert array_rows < largest  # object rows, which repeat the names, are the longer encoding
    assert largest < body_limit(names, batch) <= 1.5 * largest
    assert get_settings().max_body_bytes is None  # unset: the app uses body_limit


def test_one_row_with_many_unknown_keys_is_refused_at_the_key_limit(client_after: TestClient) -> None:
    row = {f"feature_{i}": 1.0 for i in range(5000)}

    response = client_after.post("/predict", json={"instances": [row]})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "too_long",
            "loc": ["body", "instances", 0, "object"],
            "msg": "Dictionary should have at most 13 items after validation, not more",
        }
    ]


def test_one_row_with_more_keys_than_a_full_batch_has_values_is_refused(client_after: TestClient) -> None:
    row = {f"k{i}": 1 for i in range(20_000)}

    response = client_after.post("/predict", json={"instances": [row]})

    assert response.status_code == 422
    assert "more than 13000 values" in response.text
    assert len(response.content) < 300


def test_errors_name_at_most_five_keys_each_cut_short(client_after: TestClient) -> None:
    row = {("x" * 1000 if i == 0 else f"unknown_{i}"): 1.0 for i in range(13)}

    response = client_after.post("/predict", json={"instances": [row]})

    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert (
        "unknown features ['"
        + "x" * 40
        + "...', 'unknown_1', 'unknown_2', 'unknown_3', 'unknown_4'] and 8 more"
        in message
    )
    assert (
        "missing features ['alcohol', 'malic_acid', 'ash', 'alcalinity_of_ash', 'magnesium'] and 8 more"
        in message
    )
    assert len(response.content) < 500


def test_a_thousand_bad_rows_get_one_error_not_thousands(client_after: TestClient) -> None:
    body = json.dumps({"instances": [["a"] * 13] * get_settings().max_batch_size}).encode()

    response = client_after.post("/predict", content=body, headers=JSON)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "float_type",
            "loc": ["body", "instances", 0, "array", 0],
            "msg": "Input should be a valid number",
        }
    ]


def test_a_long_string_in_every_row_is_refused_without_a_matrix_of_strings(client_after: TestClient) -> None:
    # numpy would make a (rows, 13) array of strings as wide as the longest one: 100 MB here.
    rows = [["s" * 2000, *json.loads(ROW)[1:]]] + [json.loads(ROW)] * 999

    response = client_after.post("/predict", json={"instances": rows})

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "Input should be a valid number"


def _body_limit(client: TestClient) -> int:
    names = client.get("/metadata").json()["input"]["feature_names"]
    return get_settings().max_body_bytes or body_limit(names, get_settings().max_batch_size)


def test_body_over_the_size_limit_gets_413(client_after: TestClient) -> None:
    too_big = b" " * (_body_limit(client_after) + 1)

    response = client_after.post("/predict", content=too_big, headers=JSON)

    assert response.status_code == 413
    assert "request body exceeds" in response.json()["detail"]


def test_streamed_body_over_the_size_limit_gets_413_without_content_length(client_after: TestClient) -> None:
    chunk = b" " * 65536
    chunks = (_body_limit(client_after) // len(chunk)) + 2

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
