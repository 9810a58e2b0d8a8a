"""``create_app``: apps built with their own settings and model, nothing model-dependent done at
import, one batch limit for both protocols, and what ``/ready`` answers before the model is warm."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from infra.common.paths import REPO_ROOT
from serving.app import create_app
from serving.config import Settings
from serving.model import Model, load_model

MODULES_WITHOUT_A_MODEL = [
    "serving.schemas",
    "serving.dependencies",
    "serving.routes.predict",
    "serving.routes.oip",
    "serving.routes.health",
]


def test_schemas_and_routes_import_with_no_model_file(tmp_path: os.PathLike[str]) -> None:
    missing = os.path.join(tmp_path, "absent")
    env = os.environ | {"APP_MODEL_PATH": missing, "APP_METADATA_PATH": missing}
    code = "import " + ", ".join(MODULES_WITHOUT_A_MODEL) + "\nprint('imported')"

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.splitlines()[-1] == "imported"


@pytest.fixture(scope="module")
def small(small_model_settings: Settings) -> TestClient:
    return TestClient(create_app(small_model_settings))


def test_an_app_serves_the_model_its_settings_name(small: TestClient) -> None:
    response = small.post("/predict", json={"instances": [[0.0, 0.2], {"height": 5.5, "width": 5.0}]})

    assert response.status_code == 200
    assert response.headers["x-model-version"] == "v-small"
    assert [p["label"] for p in response.json()["predictions"]] == ["low", "high"]
    assert small.get("/metadata").json()["input"]["feature_names"] == ["width", "height"]
    assert small.get("/v2/models/small").json()["inputs"] == [
        {"name": "X", "datatype": "FP32", "shape": [-1, 2]}
    ]


def test_the_request_schema_is_the_apps_models(small: TestClient) -> None:
    response = small.post("/predict", json={"instances": [[1.0, 2.0, 3.0]]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "expected 2 values, got 3"
    body = small.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
    examples = body["content"]["application/json"]["examples"]
    assert examples["objects"]["value"] == {"instances": [{"width": 0.0, "height": 0.5}]}


def _oip_rows(count: int) -> dict[str, object]:
    return {"inputs": [{"name": "X", "shape": [count, 2], "datatype": "FP32", "data": [1.0] * (2 * count)}]}


def test_one_batch_limit_for_both_protocols(small: TestClient) -> None:
    # The small model's settings allow 2 rows: /predict and the Open Inference Protocol agree.
    assert small.post("/predict", json={"instances": [[1.0, 2.0]] * 2}).status_code == 200
    assert small.post("/v2/models/small/infer", json=_oip_rows(2)).status_code == 200

    predict = small.post("/predict", json={"instances": [[1.0, 2.0]] * 3})
    infer = small.post("/v2/models/small/infer", json=_oip_rows(3))

    assert predict.status_code == 422
    assert (
        predict.json()["detail"][0]["msg"] == "more than 4 values: a request has at most 2 rows of 2 features"
    )
    assert infer.status_code == 400
    assert "1 <= N <= 2" in infer.json()["error"]


def test_ready_is_503_until_the_model_is_warmed_then_200(small_model_settings: Settings) -> None:
    model = Model(small_model_settings)  # loaded, not yet warmed up
    client = TestClient(create_app(small_model_settings, model))
    ready_paths = ["/ready", "/v2/health/ready", "/v2/models/small/ready"]

    before = [client.get(path) for path in ready_paths]
    model.warm_up()
    after = [client.get(path).status_code for path in ready_paths]

    assert [response.status_code for response in before] == [503, 503, 503]
    assert before[0].json() == {"detail": "model not loaded"}
    assert before[1].json() == {"error": "model not loaded"}
    assert after == [200, 200, 200]


def test_the_default_model_is_loaded_and_warmed(small_model_settings: Settings) -> None:
    assert load_model(small_model_settings).ready
    with TestClient(create_app(small_model_settings)) as client:
        assert client.get("/ready").json() == {"status": "ready", "model_version": "v-small"}
