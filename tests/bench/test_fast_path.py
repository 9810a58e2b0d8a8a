"""The /predict body fast path accepts only what the full pydantic validation accepts, and
gives the same matrix; on everything else the outcome (rows or error) is the full path's."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from serving import schemas

N = 13
FEATURES = [f"f{i}" for i in range(N)]
ROW = [13.48, 1.81, 2.41, 20.5, 100, 2.7, 2.98, 0.26, 1.86, 5.1, 1.04, 3.47, 920]


def _outcome(body: bytes, max_batch_size: int = 1000) -> tuple[str, Any]:
    try:
        matrix = schemas.parse_predict_request(body, FEATURES, max_batch_size)
    except ValidationError as error:
        return "validation", schemas.validation_errors(error)
    except schemas.InputError as error:
        return "input", error.errors
    return "rows", (matrix.dtype.str, matrix.shape, matrix.tobytes())


def _full_path_outcome(
    body: bytes, monkeypatch: pytest.MonkeyPatch, max_batch_size: int = 1000
) -> tuple[str, Any]:
    with monkeypatch.context() as patch:
        patch.setattr(schemas, "_array_rows", lambda *_: None)
        return _outcome(body, max_batch_size)


BODIES = [
    {"instances": [ROW]},
    {"instances": [ROW, ROW[::-1]]},
    {"instances": [[1] * N]},
    {"instances": [[2**53 + 1] * N]},
    {"instances": [[2**63, *ROW[1:]]]},
    {"instances": [[10**40, *ROW[1:]]]},
    {"instances": [[1e39, *ROW[1:]]]},
    {"instances": [[-0.0, *ROW[1:]]]},
    {"instances": [[True, *ROW[1:]]]},
    {"instances": [[None, *ROW[1:]]]},
    {"instances": [["1.5", *ROW[1:]]]},
    {"instances": [ROW[:-1]]},
    {"instances": [ROW, ROW[:-1]]},
    {"instances": [[ROW]]},
    {"instances": ROW},
    {"instances": []},
    {"instances": [[]]},
    {"instances": [ROW], "extra": 1},
    {"instances": [dict(zip(FEATURES, ROW, strict=True))]},
    {"instances": [ROW, dict(zip(FEATURES, ROW, strict=True))]},
    {"instances": [ROW] * 3},
    [ROW],
    "instances",
    None,
]
RAW = [
    b'{"instances": [[NaN, 1,2,3,4,5,6,7,8,9,10,11,12]]}',
    b'{"instances": [[1e400, 1,2,3,4,5,6,7,8,9,10,11,12]]}',
    b'{"instances": [[1,2,3,4,5,6,7,8,9,10,11,12,13]], "instances": [[1]]}',
    b'{"instances": [[1]], "instances": [[1,2,3,4,5,6,7,8,9,10,11,12,13]]}',
    b'{"instances": [[1,2,3,4,5,6,7,8,9,10,11,12,13,]]}',
    b'{"instances": [[1,2,3,4,5,6,7,8,9,10,11,12,13]]} trailing',
    b' {"instances": [[1,2,3,4,5,6,7,8,9,10,11,12,13]]} ',
    b'{"instances": [[1,2,3,4,5,6,7,8,9,10,11,12,"true"]]}',
    b'{"inst\\u0061nces": [[1,2,3,4,5,6,7,8,9,10,11,12,13]]}',
    b"",
    b"\xff",
]


@pytest.mark.parametrize("body", [json.dumps(b).encode() for b in BODIES] + RAW)
def test_same_outcome_as_the_full_validation(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _outcome(body) == _full_path_outcome(body, monkeypatch)


def test_the_fast_path_takes_plain_number_arrays() -> None:
    rows = schemas._array_rows(json.dumps({"instances": [ROW, ROW]}).encode(), N)
    assert rows is not None and rows.shape == (2, N) and rows.dtype == np.float64


def test_the_fast_path_leaves_any_string_to_the_full_validation() -> None:
    # numpy would turn these rows into a (2, 13) array of 10,000-character strings (1 MB).
    body = json.dumps({"instances": [["s" * 10_000, *ROW[1:]], ROW]}).encode()
    assert schemas._array_rows(body, N) is None


def test_batch_limit_applies_on_the_fast_path_too(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"instances": [ROW] * 3}).encode()
    assert _outcome(body, max_batch_size=2) == _full_path_outcome(body, monkeypatch, max_batch_size=2)
    assert _outcome(body, max_batch_size=2)[0] == "input"  # 39 values: more than 2 rows of 13 hold


_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**70), max_value=2**70),
)
_values = st.one_of(_numbers, _numbers, _numbers, st.booleans(), st.none(), st.text(max_size=3))
_rows = st.lists(_values, min_size=N - 1, max_size=N + 1) | st.lists(_numbers, min_size=N, max_size=N)


@settings(max_examples=300, deadline=None)
@given(st.lists(_rows, min_size=0, max_size=4))
def test_same_outcome_for_generated_bodies(instances: list[list[Any]]) -> None:
    body = json.dumps({"instances": instances}).encode()
    with pytest.MonkeyPatch.context() as patch:
        expected = _full_path_outcome(body, patch)
    assert _outcome(body) == expected
