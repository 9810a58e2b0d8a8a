"""Request and response shapes, and the checks that turn a request body into a float32 matrix.

The request body is validated from raw bytes by pydantic-core (one pass, no json.loads
first), so malformed JSON, NaN/Infinity, strings, booleans and nulls all fail in one place
with a 422 that names the field. The common case, rows as arrays of numbers, first takes a
fast path (orjson and one numpy conversion) that accepts only bodies the full validation
accepts, with the same result; anything else, and every error, goes through pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError

# strict: "1.5", true and null are not numbers; allow_inf_nan=False: NaN and Infinity are not values.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _instance_kind(value: Any) -> str | None:
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else None


# A tagged union, so an error names the one shape the instance has, not both alternatives.
Instance = Annotated[
    Annotated[list[Number], Tag("array")] | Annotated[dict[str, Number], Tag("object")],
    Discriminator(
        _instance_kind,
        custom_error_type="instance_type",
        custom_error_message="Each instance must be an array of numbers or an object of feature: number",
    ),
]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances: list[Instance] = Field(
        min_length=1,
        description="Rows to score: each an array of the 13 features in `/metadata` order, "
        "or an object keyed by feature name.",
    )


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


_request_adapter = TypeAdapter(PredictRequest)


def parse_predict_request(body: bytes, feature_names: list[str], max_batch_size: int) -> np.ndarray:
    """Validate a /predict body and return its rows as a (n, features) float32 array.

    Raises ``ValidationError`` for shape and type errors and ``InputError`` for rows that do
    not fit the model (wrong count, missing or unknown feature names, too many rows).
    """
    numbers: np.ndarray | list[list[float]] | None = _array_rows(body, len(feature_names))
    if numbers is None:
        request = _request_adapter.validate_json(body)
        _check_batch_size(len(request.instances), max_batch_size)
        numbers = [
            _as_row(instance, index, feature_names) for index, instance in enumerate(request.instances)
        ]
    else:
        _check_batch_size(len(numbers), max_batch_size)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported just below
        matrix = np.asarray(numbers, dtype=np.float32)
    if not np.isfinite(matrix).all():
        bad_row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        raise InputError([_error(("body", "instances", bad_row), "value out of float32 range")])
    return matrix


def _array_rows(body: bytes, n_features: int) -> np.ndarray | None:
    """The fast path: ``{"instances": [[n_features numbers], ...]}`` as a float64 matrix, or
    None for anything else (the full validation then accepts it or says what is wrong).

    orjson rejects what strict JSON rejects (NaN, Infinity, 1e400, trailing commas); numpy
    turns anything but numbers into a non-numeric dtype or fails on ragged rows. Booleans
    are the one thing numpy would take as numbers, hence the scan for their literals.
    """
    if b"true" in body or b"false" in body:
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


def _check_batch_size(size: int, max_batch_size: int) -> None:
    if size > max_batch_size:
        raise InputError(
            [_error(("body", "instances"), f"batch of {size} exceeds the limit of {max_batch_size}")]
        )


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
    problems = ([f"missing features {missing}"] if missing else []) + (
        [f"unknown features {unknown}"] if unknown else []
    )
    raise InputError([_error(where, "; ".join(problems))])


def _error(loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    return {"type": "value_error", "loc": list(loc), "msg": msg}


def validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors without echoing the input back (it may be large)."""
    return [
        {"type": entry["type"], "loc": ["body", *entry["loc"]], "msg": entry["msg"]}
        for entry in error.errors(include_url=False, include_input=False, include_context=False)
    ]
