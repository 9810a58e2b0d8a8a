"""What importing the serving entry points pulls in, checked in a fresh interpreter.

In the style of aws-powertools' import-time budget: behaviour (which modules load), not timings.
Every module here would be paid for at each cold start without the first request needing it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from infra.common.paths import REPO_ROOT

TRAINING_ONLY = ["sklearn", "scipy", "pandas", "skl2onnx", "onnx", "joblib"]
NEVER_AT_RUNTIME = ["boto3", "botocore", "locust", "matplotlib", "aws_cdk", "httpx", "pytest", "bench"]
# The Open Inference Protocol's client is for its users and the tests; the server needs none of it.
NEVER_AT_RUNTIME += ["tritonclient", "gevent", "geventhttpclient"]
# A Lambda function has no HTTP server of its own, and no YAML or templates to render.
NOT_IN_LAMBDA = ["uvicorn", "uvloop", "httptools", "jinja2", "yaml"]


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys\nimport {module}\nprint(json.dumps(sorted(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(completed.stdout.splitlines()[-1]))


def _top_level(modules: set[str]) -> set[str]:
    return {name.split(".", 1)[0] for name in modules}


@pytest.fixture(scope="module")
def lambda_modules() -> set[str]:
    return _modules_after_import("serving.lambda_handler")


@pytest.mark.parametrize("package", TRAINING_ONLY + NEVER_AT_RUNTIME + NOT_IN_LAMBDA)
def test_the_lambda_handler_does_not_import(lambda_modules: set[str], package: str) -> None:
    assert package not in _top_level(lambda_modules)


def test_the_lambda_handler_imports_what_serving_needs(lambda_modules: set[str]) -> None:
    assert {"onnxruntime", "numpy", "fastapi", "mangum", "orjson", "prometheus_client"} <= _top_level(
        lambda_modules
    )


def test_no_test_client_at_start(lambda_modules: set[str]) -> None:
    assert not {"starlette.testclient", "fastapi.testclient"} & lambda_modules


def test_the_uvicorn_app_does_not_import_training_libraries() -> None:
    assert not _top_level(_modules_after_import("serving.app")) & set(TRAINING_ONLY)
