"""In-process figures, run in a child process of the bench (``python -m bench.inprocess``):

* warm per-request cost through each Lambda handler (Mangum) with a real Function URL event;
* batch throughput through the app's handler against raw onnxruntime on the same rows: JSON
  /predict, and the Open Inference Protocol's binary tensors (Triton's extension);
* the cost of the worst invalid requests against the largest valid one, through the app's handler.

Its stdout is the app's request log (discarded by the parent); the result is a JSON file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.timing import interleaved, median
from bench.workloads import (
    batch_array,
    invalid_bodies,
    largest_valid_array_body,
    largest_valid_body,
    oip_binary_body,
    oip_infer_path,
    predict_body,
)
from infra.local.function_url.events import DOMAIN, function_url_event

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _invoke(
    handler: Handler, event: dict[str, Any], statuses: range = range(200, 201)
) -> Callable[[], object]:
    def call() -> dict[str, Any]:
        return handler(event, None)  # the app reads nothing from the Lambda context

    response = call()
    if response["statusCode"] not in statuses:
        raise RuntimeError(f"warm-up call failed: {str(response)[:2000]}")
    return call


def warm_request(rounds: int, min_seconds: float) -> dict[str, Any]:
    from bench.peers import asgi_floor, naive
    from serving import lambda_handler
    from serving.model import load_model

    session = load_model().session  # the app's session options, for the onnxruntime floor
    input_name = session.get_inputs()[0].name
    one_row = {input_name: batch_array(1)}
    event = function_url_event("POST", "/predict", predict_body(1))
    samples = interleaved(
        {
            "onnxruntime_run": partial(session.run, None, one_row),
            "asgi_floor": _invoke(asgi_floor.handler, event),
            "app": _invoke(lambda_handler.handler, event),
            "naive_peer": _invoke(naive.handler, event),
        },
        rounds,
        min_seconds,
    )
    return {
        name: {"median_us": median(values) * 1e6, "rounds_us": [v * 1e6 for v in values]}
        for name, values in samples.items()
    }


def batch_throughput(sizes: list[int], rounds: int, min_seconds: float) -> dict[str, Any]:
    from serving import lambda_handler
    from serving.model import load_model

    session = load_model().session
    input_name = session.get_inputs()[0].name
    output_names = [output.name for output in session.get_outputs()]
    results: dict[str, Any] = {}
    for size in sizes:
        feed = {input_name: batch_array(size)}
        event = function_url_event("POST", "/predict", predict_body(size))
        samples = interleaved(
            {
                "onnxruntime_run": partial(session.run, None, feed),
                "app": _invoke(lambda_handler.handler, event),
                "app_oip_binary": _invoke(lambda_handler.handler, _oip_binary_event(size, output_names)),
            },
            rounds,
            min_seconds,
        )
        results[str(size)] = {
            name: {"rows_per_s": size / median(values), "rounds_s": values}
            for name, values in samples.items()
        }
    return results


def _oip_binary_event(size: int, outputs: list[str]) -> dict[str, Any]:
    """A binary infer request (Triton's extension, every output binary) as a Function URL event:
    not a text type, so its body arrives base64-encoded, as on AWS."""
    from serving.oip.tensors import HEADER_LENGTH

    body, header_length = oip_binary_body(size, outputs)
    headers = {
        "host": DOMAIN,
        "content-type": "application/octet-stream",
        "content-length": str(len(body)),
        HEADER_LENGTH: str(header_length),
    }
    return function_url_event("POST", oip_infer_path(), body, headers=headers)


def invalid_input(rounds: int, min_seconds: float) -> dict[str, Any]:
    """Seconds per request of the largest valid /predict body (the one the body limit is sized
    from), the same batch as arrays, and each of the worst invalid bodies (each must get a 4xx)."""
    from serving import lambda_handler
    from serving.app import app
    from serving.schemas import body_limit

    model, settings = app.state.model, app.state.settings
    names, batch_limit = model.feature_names, settings.max_batch_size
    limit = settings.max_body_bytes or body_limit(names, batch_limit)
    valid = {
        "largest_valid": largest_valid_body(names, batch_limit),
        "largest_valid_arrays": largest_valid_array_body(len(names), batch_limit),
    }
    targets = {
        name: _invoke(lambda_handler.handler, function_url_event("POST", "/predict", body))
        for name, body in valid.items()
    }
    for name, body in invalid_bodies(len(names), batch_limit, limit).items():
        event = function_url_event("POST", "/predict", body)
        targets[name] = _invoke(lambda_handler.handler, event, statuses=range(400, 500))
    samples = interleaved(targets, rounds, min_seconds)
    return {
        "body_limit_bytes": limit,
        "requests": {
            name: {"median_us": median(values) * 1e6, "rounds_s": values} for name, values in samples.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--seconds", type=float, default=0.15, help="minimum time per target per round")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32, 1000])
    args = parser.parse_args(argv)
    np.random.seed(0)
    result = {
        "warm_request": warm_request(args.rounds, args.seconds),
        "batch": batch_throughput(args.batch_sizes, args.rounds, args.seconds),
        "invalid_input": invalid_input(args.rounds, args.seconds),
    }
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
