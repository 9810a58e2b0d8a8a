"""The Open Inference Protocol on the Lambda image: tritonclient's InferenceServerClient against
the image under the Lambda RIE, behind the local Function URL (infra.local), binary bodies
base64-encoded in the events both ways, as a real Function URL does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from infra.local.containers import remove_run_containers
from infra.local.function_url.target import FunctionUrlTarget
from infra.local.ways import function_url_target
from tests.serving.oip_client import check_the_protocol


@pytest.fixture(scope="module")
def function_url(
    docker_engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FunctionUrlTarget]:
    run_id = f"oip-{uuid.uuid4().hex[:8]}"
    logs: Path = tmp_path_factory.mktemp("oip-lambda")
    target = function_url_target(
        use_docker=True, run_id=run_id, logs=logs, concurrency=1, idle_timeout=600, auth_type="NONE"
    )
    try:
        with target:
            yield target
    finally:
        remove_run_containers(run_id)


@pytest.mark.docker
def test_tritonclient_speaks_the_protocol_with_the_lambda_image(
    function_url: FunctionUrlTarget, metadata: dict[str, Any], holdout: dict[str, Any]
) -> None:
    url = function_url.url.removeprefix("http://")
    check_the_protocol(url, metadata, np.asarray(holdout["rows"], dtype=np.float32))
