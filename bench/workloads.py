"""What every benchmark sends: real held-out rows, as JSON bodies (Function URL events come from
``infra.local.function_url.events``, the one home of the event builder)."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import numpy as np

from infra.common.paths import REPO_ROOT
from model.artifacts import holdout_path, metadata_path
from serving.oip.schemas import (
    InferenceRequest,
    InputParameters,
    OutputParameters,
    RequestInput,
    RequestOutput,
)

# Bytecode for every child process, cached outside the source tree: the images ship compiled
# bytecode, so cold starts here should not pay for compiling either.
PYCACHE = REPO_ROOT / ".cache" / "bench-pycache"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for the bench's child processes (servers, load generator, cold starts)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(PYCACHE)} | (extra or {})


@cache
def holdout_rows() -> list[list[float]]:
    rows: list[list[float]] = json.loads(holdout_path().read_text())["rows"]
    return rows


def batch(size: int) -> list[list[float]]:
    """``size`` held-out rows, cycling through the 45 there are."""
    rows = holdout_rows()
    return [rows[i % len(rows)] for i in range(size)]


def batch_array(size: int) -> np.ndarray:
    return np.asarray(batch(size), dtype=np.float32)


def predict_body(size: int = 1) -> bytes:
    return json.dumps({"instances": batch(size)}).encode()


# ---- the Open Inference Protocol (KServe v2), built with the app's own request models
@cache
def model_card() -> dict[str, Any]:
    card: dict[str, Any] = json.loads(metadata_path().read_text())
    return card


def model_name() -> str:
    """The model's name in the protocol's paths: the model card's."""
    name: str = model_card()["name"]
    return name


def oip_infer_path() -> str:
    return f"/v2/models/{model_name()}/infer"


def _oip_input(size: int, **fields: Any) -> RequestInput:
    """The model's one input tensor (its name from the card), FP32 [size, features]."""
    card_input = model_card()["input"]
    shape = [size, len(card_input["feature_names"])]
    return RequestInput(name=card_input["name"], shape=shape, datatype="FP32", **fields)


def oip_json_body(size: int = 1, outputs: list[str] | None = None) -> bytes:
    """An infer request with the tensor as JSON ``data`` (flat, row-major), as tritonclient sends it."""
    data = [value for row in batch(size) for value in row]
    requested = [RequestOutput(name=name) for name in outputs] if outputs else None
    request = InferenceRequest(inputs=[_oip_input(size, data=data)], outputs=requested)
    return request.model_dump_json(exclude_none=True).encode()


def oip_binary_body(size: int, outputs: list[str]) -> tuple[bytes, int]:
    """An infer request in Triton's binary tensor extension: a JSON header, then the tensor's raw
    little-endian bytes; every output asked for as binary too. Returns (body, header length), the
    length going in the Inference-Header-Content-Length header."""
    tensor = batch_array(size).astype("<f4").tobytes()
    header = InferenceRequest(
        inputs=[_oip_input(size, parameters=InputParameters(binary_data_size=len(tensor)))],
        outputs=[RequestOutput(name=name, parameters=OutputParameters(binary_data=True)) for name in outputs],
    )
    encoded = header.model_dump_json(exclude_none=True).encode()
    return encoded + tensor, len(encoded)


# ---- the cost of invalid input (issue 9): the largest valid request against the worst invalid ones
def largest_valid_body(feature_names: list[str], max_batch_size: int) -> bytes:
    """The largest valid /predict body, the one the body limit is sized from
    (``serving.schemas.largest_valid_body_bytes``): a full batch of object rows whose every
    value takes the most characters a number needs."""
    from serving.schemas import LONGEST_NUMBER

    return json.dumps({"instances": [dict.fromkeys(feature_names, LONGEST_NUMBER)] * max_batch_size}).encode()


def largest_valid_array_body(n_features: int, max_batch_size: int) -> bytes:
    """The same full batch as arrays: the fast path's largest request."""
    from serving.schemas import LONGEST_NUMBER

    return json.dumps({"instances": [[LONGEST_NUMBER] * n_features] * max_batch_size}).encode()


def invalid_bodies(n_features: int, max_batch_size: int, body_limit: int) -> dict[str, bytes]:
    """Invalid bodies that cost the parsers the most, each as close to the body limit as it gets.

    A parser pays per value it builds, so each case has as many values as the app lets through
    to a parser (one comma short of a full batch's ``max_batch_size * n_features`` values), each
    made as long as the limit allows; the last case is what the value count refuses unparsed.
    """
    values = max_batch_size * n_features - 1  # values the app hands to a parser, at most
    room = body_limit - 100  # minus the envelope and brackets
    per_value = room // values - 4  # characters per value after its comma, quotes, colon

    def body(instances: str) -> bytes:
        encoded = ('{"instances": [' + instances + "]}").encode()
        assert len(encoded) <= body_limit, (len(encoded), body_limit)
        return encoded

    short_row = ",".join(["0." + "1" * per_value] * (n_features - 1))
    return {
        # Every row one value short: both parsers run, and every number is as long as can be.
        "rows_one_value_short": body(",".join(["[" + short_row + "]"] * max_batch_size)),
        # One object row with ~13,000 unknown keys: a JSON object as big as the limit lets through.
        "one_row_of_unknown_keys": body(
            "{" + ",".join(f'"{i:0{per_value - 2}d}":0' for i in range(values)) + "}"
        ),
        # Strings where numbers belong, in every cell of a full batch.
        "strings_in_every_row": body(
            ",".join(["[" + ",".join(['"' + "s" * per_value + '"'] * n_features) + "]"] * max_batch_size)
        ),
        # Empty rows, thirteen times the batch limit of them.
        "empty_rows": body(",".join(["[]"] * (values + 1))),
        # One number as long as the body limit allows.
        "one_huge_number": body("[" + "1" * (room - 10) + "]"),
        # Tiny values that fill the limit: refused by counting, before any parser.
        "many_tiny_values": body("[" + ",".join(["0"] * (room // 2)) + "]"),
    }
