"""The /predict request and response, as pydantic models FastAPI validates and serializes.

The request's shape follows a model (its feature names) and the settings (the batch limit), so
its class is made per app (``predict_request_model``, called by ``serving.app.create_app``):
importing this module needs no model. Every check is a pydantic rule, so FastAPI reports each
failure as one 422 that names the field.

Invalid input costs no more than the largest valid request: the body limit is sized from that
request (``body_limit``); a body with more values or rows than a full batch holds is refused
before any row is validated; a row with too many keys is refused at the key limit; validation
stops at the first bad row (``fail_fast``), and error replies name a few problems, not all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# The longest JSON text a valid number needs: repr() of a double, which JSON encoders write, is
# at most 24 characters (sign, 17 significant digits, the point, "e-308"), as this one is.
LONGEST_NUMBER = -2.2250738585072014e-308
# Over the largest valid request, room for the whitespace of a pretty-printing client:
# json.dumps(..., indent=2) of the largest request is 1.16x its default encoding.
BODY_LIMIT_HEADROOM = 1.25
# Error replies list this many problems (rows, keys) at most, then how many more there are.
MAX_REPORTED = 5
_MAX_NAME_CHARS = 40  # an offending key is echoed up to this long
# Values from here on round to infinity in float32: 2**128 - 2**103, halfway past float32's max.
_FLOAT32_OVERFLOW = float(2**128 - 2**103)

# strict: "1.5", true and null are not numbers; allow_inf_nan=False: NaN and Infinity are not values.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _instance_kind(value: Any) -> str | None:
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else None


def _some(names: list[str]) -> str:
    """The first few names, each cut short, and how many more: a reply never echoes a body."""
    shown = [
        name if len(name) <= _MAX_NAME_CHARS else name[:_MAX_NAME_CHARS] + "..."
        for name in names[:MAX_REPORTED]
    ]
    more = len(names) - MAX_REPORTED
    return f"{shown}" + (f" and {more} more" if more > 0 else "")


def _value_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", message)


class PredictRequest(BaseModel):
    """What every app's /predict request is; ``predict_request_model`` adds its ``instances``."""

    model_config = ConfigDict(extra="forbid")

    instances: list[list[float]]

    @model_validator(mode="before")
    @classmethod
    def _a_json_object(cls, body: Any) -> Any:
        """Pydantic's own words for a JSON body that is not an object (FastAPI hands it the
        parsed body, for which pydantic would say "a valid dictionary")."""
        if not isinstance(body, dict):
            raise PydanticCustomError("model_type", "Input should be an object")
        return body

    def rows(self) -> np.ndarray:
        """The instances as the model's input: a float32 matrix, one row per instance."""
        return np.asarray(self.instances, dtype=np.float32)


def predict_request_model(feature_names: Sequence[str], max_batch_size: int) -> type[PredictRequest]:
    """The /predict request for a model with these features, at most ``max_batch_size`` rows."""
    features = list(feature_names)
    max_values = max_batch_size * len(features)

    def feature_row(instance: list[float] | dict[str, float]) -> list[float]:
        """An instance as its values in feature order, within float32's range."""
        if isinstance(instance, dict):
            row = by_feature_name(instance)
        elif len(instance) != len(features):
            raise _value_error(f"expected {len(features)} values, got {len(instance)}")
        else:
            row = instance
        if max(map(abs, row)) >= _FLOAT32_OVERFLOW:
            raise _value_error("value out of float32 range")
        return row

    def by_feature_name(instance: dict[str, float]) -> list[float]:
        if len(instance) == len(features):
            try:
                return [instance[name] for name in features]
            except KeyError:
                pass  # same count but different names: report below
        missing = [name for name in features if name not in instance]
        unknown = [name for name in instance if name not in features]
        problems = ([f"missing features {_some(missing)}"] if missing else []) + (
            [f"unknown features {_some(unknown)}"] if unknown else []
        )
        raise _value_error("; ".join(problems))

    def at_most_a_full_batch(cls: type[PredictRequest], instances: Any) -> Any:
        """Before any row is validated: a body of many tiny values or empty rows costs the
        validator per value or row, so one with more than a full batch holds stops here."""
        if not isinstance(instances, list):
            return instances
        values = sum(len(row) for row in instances if isinstance(row, list | dict))
        if values > max_values:
            raise _value_error(
                f"more than {max_values} values: a request has at most {max_batch_size} rows "
                f"of {len(features)} features"
            )
        if len(instances) > max_batch_size:
            raise _value_error(f"more than {max_batch_size} rows")
        return instances

    # A tagged union, so an error names the one shape the instance has, not both alternatives.
    instance = Annotated[
        Annotated[list[Number], Field(fail_fast=True), Tag("array")]
        | Annotated[dict[str, Number], Field(max_length=len(features), fail_fast=True), Tag("object")],
        Discriminator(
            _instance_kind,
            custom_error_type="instance_type",
            custom_error_message="Each instance must be an array of numbers or an object of feature: number",
        ),
        AfterValidator(feature_row),
    ]
    instances = Field(
        min_length=1,
        fail_fast=True,
        description=f"Rows to score: each an array of the {len(features)} features in `/metadata` "
        "order, or an object keyed by feature name.",
    )
    return create_model(
        "PredictRequest",
        __base__=PredictRequest,
        __validators__={
            "_at_most_a_full_batch": field_validator("instances", mode="before")(at_most_a_full_batch)
        },
        instances=(list[instance], instances),
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
