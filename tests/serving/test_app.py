"""The happy paths: every route, the response headers and the predictions themselves."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from starlette.testclient import TestClient

from infra.common.paths import REPO_ROOT


def test_predict_scores_held_out_rows_like_the_training_labels(
    client: TestClient, holdout: dict[str, Any]
) -> None:
    response = client.post("/predict", json={"instances": holdout["rows"]})

    assert response.status_code == 200
    body = response.json()
    predicted = [prediction["label"] for prediction in body["predictions"]]
    expected = [f"class_{label}" for label in holdout["labels"]]
    agreement = sum(p == e for p, e in zip(predicted, expected, strict=True)) / len(expected)
    assert agreement >= 0.9  # the metadata records the held-out accuracy; this guards against garbage
    for prediction in body["predictions"]:
        probabilities = prediction["probabilities"]
        assert set(probabilities) == {"class_0", "class_1", "class_2"}
        assert abs(sum(probabilities.values()) - 1.0) < 1e-4
        assert prediction["label"] == max(probabilities, key=probabilities.__getitem__)


def test_predict_accepts_objects_keyed_by_feature_name(client: TestClient, holdout: dict[str, Any]) -> None:
    row = holdout["rows"][0]
    as_object = dict(zip(holdout["feature_names"], row, strict=True))
    reordered = dict(reversed(list(as_object.items())))

    by_array = client.post("/predict", json={"instances": [row]}).json()
    by_object = client.post("/predict", json={"instances": [reordered, row]}).json()

    assert by_object["predictions"] == [by_array["predictions"][0]] * 2


def test_predict_reports_model_version_and_timing(client: TestClient, metadata: dict[str, Any]) -> None:
    response = client.post("/predict", json={"instances": [metadata["example_instances"][0]]})

    assert response.json()["model_version"] == metadata["version"]
    assert response.headers["x-model-version"] == metadata["version"]
    assert response.headers["server-timing"].startswith("inference;dur=")
    assert float(response.headers["server-timing"].split("=", 1)[1]) > 0


def test_every_response_carries_request_id_model_version_and_cold_flag(client: TestClient) -> None:
    client.get("/health")  # whichever request of the session came first was the cold one
    for response in (client.get("/health"), client.get("/nowhere"), client.post("/predict", content=b"{")):
        assert len(response.headers["x-request-id"]) == 32
        assert response.headers["x-cold-start"] == "false"
        assert response.headers["x-model-version"]


def test_the_first_request_of_a_fresh_process_is_cold_and_the_next_are_warm() -> None:
    code = (
        "from starlette.testclient import TestClient\n"
        "from serving.app import app\n"
        "client = TestClient(app)\n"
        "print([client.get(path).headers['x-cold-start'] for path in ('/ready', '/health', '/nowhere')])"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )

    assert completed.stdout.splitlines()[-1] == "['true', 'false', 'false']"


def test_a_callers_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/health", headers={"x-request-id": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"


def test_health_ready_and_metadata(client: TestClient, metadata: dict[str, Any]) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready", "model_version": metadata["version"]}
    card = client.get("/metadata").json()
    assert card["input"]["feature_names"] == metadata["input"]["feature_names"]
    assert card["parity"]["passed"] is True


def test_metrics_count_requests_by_route_and_status(client: TestClient) -> None:
    client.post("/predict", json={"instances": [[13.0] * 13]})
    client.post("/predict", json={"instances": []})

    text = client.get("/metrics").text

    assert 'http_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'http_requests_total{method="POST",route="/predict",status="422"}' in text
    assert "model_inference_seconds_count" in text
    assert "process_cold_starts_total" in text
    assert 'http_request_duration_seconds_bucket{le="0.001",route="/predict",status="200"}' in text


def test_openapi_documents_predict_with_examples_that_work(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    request_schema = schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]

    assert request_schema["required"] == ["instances"]
    for example in body["examples"].values():
        assert client.post("/predict", json=example["value"]).status_code == 200
    assert client.get("/docs").status_code == 200
