"""Request and response shapes, and the checks that turn a request body into a float32 matrix.

The request body is validated from raw bytes by pydantic-core (one pass, no json.loads
first), so malformed JSON, NaN/Infinity, strings, booleans and nulls all fail in one place
with a 422 that names the field. The common case, rows as arrays of numbers, first takes a
fast path (orjson and one numpy conversion) that accepts only bodies the full validation
accepts, with the same result; anything else, and every error, goes through pydantic.

Invalid input costs no more than the largest valid request: the body limit is sized from that
request (``body_limit``), a body with more values than a full batch can hold is refused before
any parser sees it, the batch and key-count limits are pydantic constraints that stop validation
at the first row that breaks them, and error replies name a few problems, not all of them.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
)

# strict: "1.5", true and null are not numbers; allow_inf_nan=False: NaN and Infinity are not values.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]

# The longest JSON text a valid number needs: repr() of a double, which JSON encoders write, is
# at most 24 characters (sign, 17 significant digits, the point, "e-308"), as this one is.
LONGEST_NUMBER = -2.2250738585072014e-308
# Over the largest valid request, room for the whitespace of a pretty-printing client:
# json.dumps(..., indent=2) of the largest request is 1.16x its default encoding.
BODY_LIMIT_HEADROOM = 1.25
# Error replies list this many problems (rows, keys) at most, then how many more there are.
MAX_REPORTED = 5
_MAX_NAME_CHARS = 40  # an offending key is echoed up to this long


def _instance_kind(value: Any) -> str | None:
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else None


_INSTANCES_DOC = (
    "Rows to score: each an array of the 13 features in `/metadata` order, "
    "or an object keyed by feature name."
)


@lru_cache(maxsize=4)
def predict_request_model(max_batch_size: int, n_features: int) -> type[BaseModel]:
    """The /predict body, with its limits as constraints pydantic checks while it validates:
    at most ``max_batch_size`` rows and ``n_features`` keys per object row; fail_fast stops at
    the first bad row, so a body of a thousand bad rows costs one error, not thousands."""
    # A tagged union, so an error names the one shape the instance has, not both alternatives.
    instance = Annotated[
        Annotated[list[Number], Field(fail_fast=True), Tag("array")]
        | Annotated[dict[str, Number], Field(max_length=n_features, fail_fast=True), Tag("object")],
        Discriminator(
            _instance_kind,
            custom_error_type="instance_type",
            custom_error_message="Each instance must be an array of numbers or an object of feature: number",
        ),
    ]
    model: type[BaseModel] = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        instances=(
            list[instance],
            Field(min_length=1, max_length=max_batch_size, fail_fast=True, description=_INSTANCES_DOC),
        ),
    )
    return model


def largest_valid_body_bytes(feature_names: list[str], max_batch_size: int) -> int:
    """The size of the largest valid /predict body, as ``json.dumps`` writes it.

    That is ``max_batch_size`` object rows (longer than arrays: they repeat every feature
    name) whose every value is ``LONGEST_NUMBER``; the rows are joined by ", " inside
    ``{"instances": [`` ... ``]}``. One row is encoded here; the rest is arithmetic.
    """
    row = json.dumps(dict.fromkeys(feature_names, LONGEST_NUMBER))
    envelope = len('{"instances": [') + len("]}")
    return envelope + max_batch_size * len(row) + (max_batch_size - 1) * len(", ")


def body_limit(feature_names: list[str], max_batch_size: int) -> int:
    """The default request body limit: the largest valid body plus ``BODY_LIMIT_HEADROOM``."""
    return int(largest_valid_body_bytes(feature_names, max_batch_size) * BODY_LIMIT_HEADROOM)


class InstancePrediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[InstancePrediction]


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str
    model_version: str


class InputError(ValueError):
    """A request that parses but cannot be scored; carries pydantic-style error entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"])
        self.errors = errors


@lru_cache(maxsize=4)
def _request_adapter(max_batch_size: int, n_features: int) -> TypeAdapter[Any]:
    return TypeAdapter(predict_request_model(max_batch_size, n_features))


def parse_predict_request(body: bytes, feature_names: list[str], max_batch_size: int) -> np.ndarray:
    """Validate a /predict body and return its rows as a (n, features) float32 array.

    Raises ``ValidationError`` for shape and type errors and ``InputError`` for rows that do
    not fit the model (wrong count, missing or unknown feature names, too many values).
    """
    _check_value_count(body, max_batch_size * len(feature_names), max_batch_size)
    _check_row_count(body, max_batch_size)
    numbers: np.ndarray | list[list[float]] | None = _array_rows(body, len(feature_names))
    if numbers is None:
        request: Any = _request_adapter(max_batch_size, len(feature_names)).validate_json(body)
        numbers = [
            _as_row(instance, index, feature_names) for index, instance in enumerate(request.instances)
        ]
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
        matrix = np.asarray(numbers, dtype=np.float32)
    if not np.isfinite(matrix).all():
        bad_row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        raise InputError([_error(("body", "instances", bad_row), "value out of float32 range")])
    return matrix


def _check_value_count(body: bytes, max_values: int, max_batch_size: int) -> None:
    """Refuse, before parsing, a body with more values than a full batch has.

    A parser's cost grows with the values (and keys) it builds, not only with the bytes: a
    body of many tiny values costs many times the largest valid request of the same size.
    In a valid body every comma separates two of them, rows or features (JSON strings there
    are feature names, which have no commas), so a full batch has ``max_values - 1`` commas.
    Counting them is one vectorised pass, and only bodies that could hold that many pay it.
    """
    if len(body) < max_values:
        return
    commas = int(np.count_nonzero(np.frombuffer(body, dtype=np.uint8) == ord(",")))
    if commas >= max_values:
        message = (
            f"more than {max_values} values: a request has at most {max_batch_size} rows "
            f"of {max_values // max_batch_size} features"
        )
        raise InputError([_error(("body",), message)])


def _check_row_count(body: bytes, max_batch_size: int) -> None:
    """Refuse, before parsing, a body with more arrays and objects than a full batch has.

    A valid body has one object around it, one array of instances and one array or object
    per row. Empty or short rows slip under the value count, yet each costs a parser a
    container (and the garbage collector a tracked object); pydantic's own batch limit
    applies only once it has built them all.
    """
    if len(body) < max_batch_size:
        return
    codes = np.frombuffer(body, dtype=np.uint8)
    containers = int(np.count_nonzero(codes == ord("["))) + int(np.count_nonzero(codes == ord("{")))
    if containers > max_batch_size + 2:
        raise InputError([_error(("body", "instances"), f"more than {max_batch_size} rows")])


def _array_rows(body: bytes, n_features: int) -> np.ndarray | None:
    """The fast path: ``{"instances": [[n_features numbers], ...]}`` as a float64 matrix, or
    None for anything else (the full validation then accepts it or says what is wrong).

    orjson rejects what strict JSON rejects (NaN, Infinity, 1e400, trailing commas); numpy
    turns anything but numbers into a non-numeric dtype or fails on ragged rows. Booleans
    are the one thing numpy would take as numbers, hence the scan for their literals. Strings
    are another: numpy would make a fixed-width string array as wide as the longest one in
    every cell, so the body may have no string but the "instances" key.
    """
    if b"true" in body or b"false" in body or _has_more_than_two_quotes(body):
        return None
    try:
        parsed = orjson.loads(body)
        if type(parsed) is not dict or len(parsed) != 1 or type(parsed.get("instances")) is not list:
            return None
        rows = np.array(parsed["instances"])
    except (orjson.JSONDecodeError, ValueError, OverflowError):
        return None
    if rows.ndim != 2 or rows.shape[1] != n_features or rows.dtype.kind not in "fi":
        return None
    # orjson refuses numbers that overflow a double, so these are finite; ints go through
    # float64 first, as pydantic's float() does, so float32 rounds them the same way.
    return rows if rows.dtype.kind == "f" else rows.astype(np.float64)


def _has_more_than_two_quotes(body: bytes) -> bool:
    """Three memchr scans rather than a count: the key's two quotes, then none after them."""
    second = body.find(b'"', body.find(b'"') + 1)
    return second != -1 and body.find(b'"', second + 1) != -1


def _as_row(instance: list[float] | dict[str, float], index: int, feature_names: list[str]) -> list[float]:
    where = ("body", "instances", index)
    if isinstance(instance, list):
        if len(instance) != len(feature_names):
            raise InputError([_error(where, f"expected {len(feature_names)} values, got {len(instance)}")])
        return instance
    if len(instance) == len(feature_names):
        try:
            return [instance[name] for name in feature_names]
        except KeyError:
            pass  # same count but different names: report below
    missing = [name for name in feature_names if name not in instance]
    unknown = [name for name in instance if name not in feature_names]
    problems = ([f"missing features {_some(missing)}"] if missing else []) + (
        [f"unknown features {_some(unknown)}"] if unknown else []
    )
    raise InputError([_error(where, "; ".join(problems))])


def _some(names: list[str]) -> str:
    """The first few names, each cut short, and how many more: a reply never echoes a body."""
    shown = [
        name if len(name) <= _MAX_NAME_CHARS else name[:_MAX_NAME_CHARS] + "..."
        for name in names[:MAX_REPORTED]
    ]
    more = len(names) - MAX_REPORTED
    return f"{shown}" + (f" and {more} more" if more > 0 else "")


def _error(loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": list(loc), "msg": msg}


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """The first few pydantic errors, without echoing the input back (it may be large)."""
    entries = error.errors(include_url=False, include_input=False, include_context=False)
    reported = [
        {"type": entry["type"], "loc": ["body", *entry["loc"]], "msg": entry["msg"]}
        for entry in entries[:MAX_REPORTED]
    ]
    if len(entries) > MAX_REPORTED:
        reported.append(_error(("body",), f"and {len(entries) - MAX_REPORTED} more errors"))
    return reported
