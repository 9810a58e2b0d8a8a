"""/predict's body parser (orjson, the stdlib's json.loads where orjson refuses) gives the
stdlib's value or error, so FastAPI answers every body as it would with its own parser."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from serving.json_body import OrjsonRequest

BODIES = {
    "rows": b'{"instances": [[14.2, 1.7, 2.4], {"alcohol": 13.2}]}',
    "NaN and Infinity": b'{"instances": [[NaN, -Infinity, Infinity]]}',
    "duplicate keys": b'{"instances": [[1]], "instances": [[2]]}',
    "lone surrogate": b'{"key": "\\ud800"}',
    "UTF-8 byte order mark": b'\xef\xbb\xbf{"instances": [[1]]}',
    "UTF-16": '{"instances": [[1]]}'.encode("utf-16"),
}
BAD_BODIES = {
    "cut short": b'{"instances": [',
    "trailing comma": b'{"instances": [[1],]}',
    "empty": b"",
    "not UTF-8": b'{"instances": [\xff]}',
}


def _parse(body: bytes) -> Any:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    request = OrjsonRequest({"type": "http", "method": "POST", "headers": []}, receive)
    # A loop of its own: asyncio.run would leave the thread with none for Mangum's tests.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(request.json())
    finally:
        loop.close()


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_body_parses_to_the_stdlib_value(body: bytes) -> None:
    # repr: NaN equals nothing, not even itself; the reprs of equal JSON values are equal.
    assert repr(_parse(body)) == repr(json.loads(body))


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_body_raises_the_stdlib_error(body: bytes) -> None:
    with pytest.raises(ValueError) as expected:
        json.loads(body)

    with pytest.raises(ValueError) as raised:
        _parse(body)

    assert type(raised.value) is type(expected.value)
    assert str(raised.value) == str(expected.value)


def _predict(client: TestClient, first_value: str) -> Any:
    body = '{"instances": [[' + first_value + ", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]}"
    return client.post("/predict", content=body.encode(), headers={"content-type": "application/json"})


def test_an_integer_beyond_64_bits_gets_the_answer_of_its_float(client: TestClient) -> None:
    # orjson reads it as the nearest float, which is what pydantic makes of the stdlib's int.
    integer = "123456789012345678901234567890"

    response = _predict(client, integer)

    assert response.status_code == 200
    assert response.json() == _predict(client, repr(float(integer))).json()


def test_an_integer_beyond_a_double_is_no_valid_number(client: TestClient) -> None:
    # orjson refuses it; the stdlib reads an int that pydantic cannot make a float of.
    response = _predict(client, "9" * 400)

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "Input should be a valid number"
