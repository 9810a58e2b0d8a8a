"""The Mangum handler answers the three event shapes AWS sends, as printed in the AWS docs."""

from __future__ import annotations

import base64
import copy
import json
import random
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import snapshot_restore_py
from prometheus_client import REGISTRY

from serving import environment
from serving.lambda_handler import handler, model, renew_after_restore, warm_before_snapshot

EVENTS = Path(__file__).parent / "events"
ROW = [14.2, 1.7, 2.4, 15.6, 127, 2.8, 3.06, 0.28, 2.29, 5.64, 1.04, 3.92, 1065]


class FakeContext:
    """The attributes of the Lambda context object that Mangum and the app may read."""

    function_name = "one-model-three-ways"
    memory_limit_in_mb = 1769
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:one-model-three-ways"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def _event(name: str, method: str, path: str, body: str | None, base64_body: bool = False) -> dict[str, Any]:
    """Load a documented event and point it at this app: method, path, body and content-type only."""
    event = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    if base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    event["body"], event["isBase64Encoded"] = body, base64_body
    event["headers"]["content-type"] = "application/json"
    if event["version"] == "1.0":
        event.update(httpMethod=method, path=path, resource=path)
        event["multiValueHeaders"]["content-type"] = ["application/json"]
        event["requestContext"].update(httpMethod=method, path=path, resourcePath=path)
    else:
        event["rawPath"] = path
        event["requestContext"]["http"].update(method=method, path=path)
    return event


def _invoke(event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = handler(event, cast(Any, FakeContext()))
    body = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"]
    headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
    return response["statusCode"], headers, json.loads(body)


@pytest.mark.parametrize("event_name", ["function_url", "http_api_v2", "rest_api_v1"])
@pytest.mark.parametrize("base64_body", [False, True], ids=["plain", "base64"])
def test_predict_through_each_event_shape(event_name: str, base64_body: bool) -> None:
    event = _event(event_name, "POST", "/predict", json.dumps({"instances": [ROW]}), base64_body)

    status, headers, body = _invoke(event)

    assert status == 200
    assert body["predictions"][0]["label"] == "class_0"
    assert headers["x-cold-start"] in {"true", "false"}
    assert headers["server-timing"].startswith("inference;dur=")


@pytest.mark.parametrize("event_name", ["function_url", "http_api_v2", "rest_api_v1"])
def test_health_and_bad_input_through_each_event_shape(event_name: str) -> None:
    assert _invoke(_event(event_name, "GET", "/health", None))[0] == 200
    status, _, body = _invoke(_event(event_name, "POST", "/predict", '{"instances": [[1, 2]]}'))
    assert status == 422
    assert body["detail"][0]["msg"] == "expected 13 values, got 2"


def test_the_request_log_line_carries_the_lambda_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    assert _invoke(_event("function_url", "GET", "/health", None))[0] == 200

    [fields] = [r.__dict__["fields"] for r in caplog.records if r.getMessage() == "request"]
    assert fields["aws_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e812345678"  # FakeContext's


def test_handler_never_runs_the_asgi_lifespan(monkeypatch: pytest.MonkeyPatch) -> None:
    scope_types: list[str] = []
    inner_app = handler.app

    async def recording_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope_types.append(scope["type"])
        await inner_app(scope, receive, send)

    monkeypatch.setattr(handler, "app", recording_app)
    for _ in range(2):
        assert _invoke(_event("function_url", "GET", "/health", None))[0] == 200

    assert scope_types == ["http", "http"]


def _metric_lines() -> int:
    status, _, _ = _invoke(_event("function_url", "GET", "/health", None))
    assert status == 200
    response = handler(_event("function_url", "GET", "/metrics", None), cast(Any, FakeContext()))
    return len(response["body"].splitlines())


def test_two_thousand_distinct_methods_do_not_grow_the_metrics() -> None:
    _metric_lines()  # reading /metrics once adds its own series
    before = _metric_lines()

    statuses = {_invoke(_event("function_url", f"M{i:04d}", "/health", None))[0] for i in range(2000)} | {
        _invoke(_event("function_url", "GET", f"/nowhere/{i}", None))[0] for i in range(200)
    }

    assert statuses == {405, 404}
    # At most two new label sets ("other" method on /health, "other" route), each a counter
    # (total, created) and a histogram (12 buckets and +Inf, count, sum, created): not one
    # series per method or path. Without the bound, 2,000 methods added 4,000 lines.
    assert _metric_lines() - before <= 2 * (2 + 16)


def test_binary_inference_through_a_function_url_event(
    holdout: dict[str, Any], metadata: dict[str, Any]
) -> None:
    # A Function URL base64-encodes a binary body (isBase64Encoded) and expects a binary answer the
    # same way; the Open Inference Protocol's binary tensor data extension is both.
    rows = np.asarray(holdout["rows"], dtype="<f4")
    tensor: dict[str, Any] = {"name": "X", "shape": list(rows.shape), "datatype": "FP32"}
    tensor["parameters"] = {"binary_data_size": rows.nbytes}
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}})
    event = _event("function_url", "POST", "/v2/models/wine-classifier/infer", None)
    event["body"] = base64.b64encode(header.encode() + rows.tobytes()).decode()
    event["isBase64Encoded"] = True
    event["headers"] |= {
        "content-type": "application/octet-stream",
        "inference-header-content-length": str(len(header)),
    }

    response = handler(event, cast(Any, FakeContext()))

    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    body = base64.b64decode(response["body"])
    length = int({k.lower(): v for k, v in response["headers"].items()}["inference-header-content-length"])
    outputs = json.loads(body[:length])["outputs"]
    assert [(o["name"], o["shape"]) for o in outputs] == [
        ("label", [len(rows)]),
        ("probabilities", [len(rows), 3]),
    ]
    labels = np.frombuffer(body[length : length + outputs[0]["parameters"]["binary_data_size"]], dtype="<i8")
    _, _, predicted = _invoke(
        _event("function_url", "POST", "/predict", json.dumps({"instances": rows.tolist()}))
    )
    assert [metadata["classes"][i] for i in labels] == [p["label"] for p in predicted["predictions"]]


# ---------------------------------------------------------------- SnapStart hooks (run here in process;
# tests/infra/test_snapstart.py runs them under the real awslambdaric in the image)
def _sample(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return value or 0.0


def test_the_hooks_are_registered_where_awslambdaric_runs_them() -> None:
    assert [func for func, _, _ in snapshot_restore_py.get_before_snapshot()] == [warm_before_snapshot]
    assert [func for func, _, _ in snapshot_restore_py.get_after_restore()] == [renew_after_restore]


def test_before_snapshot_leaves_the_model_loaded_and_one_inference_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inferences = _sample("model_inference_seconds_count")

    warm_before_snapshot()

    assert model.ready
    assert _sample("model_inference_seconds_count") == inferences + 1


def test_after_restore_the_first_request_says_restored_then_false(caplog: pytest.LogCaptureFixture) -> None:
    _invoke(_event("function_url", "GET", "/health", None))  # this process has served before
    restores = _sample("process_restores_total")
    colds = _sample("process_cold_starts_total")

    renew_after_restore()
    caplog.clear()
    first = _invoke(_event("function_url", "POST", "/predict", json.dumps({"instances": [ROW]})))
    second = _invoke(_event("function_url", "GET", "/health", None))

    assert (first[1]["x-cold-start"], second[1]["x-cold-start"]) == ("restored", "false")
    assert first[2]["predictions"][0]["label"] == "class_0"
    assert _sample("process_restores_total") == restores + 1
    assert _sample("process_cold_starts_total") == colds  # a restore is not counted as a fresh start
    logged = [r.__dict__["fields"]["cold"] for r in caplog.records if r.getMessage() == "request"]
    assert logged == ["restored", False]


def test_after_restore_reseeds_random_so_restored_environments_differ() -> None:
    def draw_after(hook: Any) -> float:
        random.seed(1234)  # the state one snapshot would hand every environment
        hook()
        return random.random()

    assert draw_after(lambda: None) == draw_after(lambda: None)  # without the hook: identical
    assert draw_after(renew_after_restore) != draw_after(renew_after_restore)
    environment.take_restore()  # leave no restore pending for the other tests
