"""The request rows and the two protocols' bodies and answer checks (loadtests.protocols): what a
Locust user sends and what it counts as a failure, first without a server, then in real Locust runs
with ``--protocol oip`` against the app's server and through the local Function URL (Mangum)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.commands import server_environment
from infra.local.process import LOOPBACK, ManagedProcess, free_port, wait_for_first_success
from loadtests.analysis import load_samples
from loadtests.comparison import run_scenario
from loadtests.locust_run import LoadSettings
from loadtests.payloads import PayloadSampler, load_holdout
from loadtests.protocols import OIP_OUTPUTS, PROTOCOL_NAMES, OpenInference, Rest, protocol
from loadtests.signing import NO_AUTH
from model.artifacts import metadata_path
from tests.loadtests.test_function_url import serve_function_url

CARD = json.loads(metadata_path().read_text())


def test_batches_are_held_out_rows_of_the_asked_size_and_vary() -> None:
    holdout = load_holdout()
    sampler = PayloadSampler(holdout, batch_size=4, seed=1)
    batches = [sampler.next_rows() for _ in range(20)]
    assert all(len(rows) == 4 for rows in batches)
    assert all(row in holdout.rows for rows in batches for row in rows)
    assert len({str(rows) for rows in batches}) > 1
    assert all(len(row) == len(holdout.feature_names) for row in batches[0])


def test_rest_posts_the_rows_as_instances_to_predict() -> None:
    rows = load_holdout().rows[:3]
    rest = protocol("rest")
    assert (rest.name, rest.path, rest.body(rows)) == ("rest", "/predict", {"instances": rows})
    assert rest.problem({"predictions": [{}, {}, {}]}, 3) is None
    assert rest.problem({"predictions": [{}]}, 3) == "expected 3 predictions"
    assert rest.problem(["not", "an", "object"], 3) == "expected 3 predictions"


def test_oip_posts_one_fp32_tensor_x_of_shape_n_by_13_row_major_to_the_card_s_model() -> None:
    rows = load_holdout().rows[:3]
    oip = protocol("oip")
    assert oip.name == "oip" and oip.path == f"/v2/models/{CARD['name']}/infer"
    (tensor,) = oip.body(rows)["inputs"]
    assert (tensor["name"], tensor["datatype"], tensor["shape"]) == ("X", "FP32", [3, 13])
    assert tensor["data"] == rows[0] + rows[1] + rows[2]  # flattened, row by row
    assert "Open Inference Protocol" in oip.title and oip.path in oip.title


def oip_answer(rows: int, classes: int = 3, **changes: Any) -> dict[str, Any]:
    outputs = {
        "label": {"name": "label", "datatype": "INT64", "shape": [rows], "data": [0] * rows},
        "probabilities": {
            "name": "probabilities",
            "datatype": "FP32",
            "shape": [rows, classes],
            "data": [1 / classes] * rows * classes,
        },
    }
    for name, change in changes.items():
        outputs[name] = {**outputs[name], **change}
    return {"model_name": CARD["name"], "model_version": CARD["version"], "outputs": list(outputs.values())}


def test_a_valid_oip_answer_passes() -> None:
    assert protocol("oip").problem(oip_answer(2), 2) is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({**oip_answer(2), "model_name": "another-model"}, "expected an answer from model"),
        ({"error": "bad request"}, "expected an answer from model"),
        ({**oip_answer(2), "outputs": {"label": []}}, "expected a list of outputs"),
        (
            {**oip_answer(2), "outputs": oip_answer(2)["outputs"][:1]},
            "expected outputs ['label', 'probabilities']",
        ),
        (oip_answer(2, label={"shape": [3]}), "label: expected INT64 [2]"),
        (
            {**oip_answer(2), "outputs": [{"data": []}, {"name": "label"}]},
            "expected outputs ['label', 'probabilities']",
        ),
        (oip_answer(2, label={"datatype": "FP32"}), "label: expected INT64 [2]"),
        (oip_answer(2, probabilities={"data": [0.5] * 5}), "probabilities: expected 6 values"),
        (oip_answer(2, classes=2), "probabilities: expected FP32 [2, 3]"),
    ],
)
def test_an_oip_answer_that_is_not_the_model_s_outputs_is_a_failure(answer: Any, problem: str) -> None:
    found = protocol("oip").problem(answer, 2)
    assert found is not None and found.startswith(problem)


def test_protocols_are_named_once_and_an_unknown_one_is_refused() -> None:
    assert PROTOCOL_NAMES == ("rest", "oip") and OIP_OUTPUTS == ("label", "probabilities")
    assert isinstance(protocol("rest"), Rest) and isinstance(protocol("oip"), OpenInference)
    with pytest.raises(ValueError, match="unknown protocol 'grpc'"):
        protocol("grpc")


# ---------------------------------------------------------------- real Locust runs speaking OIP
OIP_RUN = LoadSettings(steady_users=2, ramp_seconds=1, hold_seconds=2, batch_size=4, protocol="oip")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app's own server (``python -m serving``, one worker) on 127.0.0.1."""
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    environment = {**os.environ, **server_environment(port, workers=1)}
    with ManagedProcess([sys.executable, "-m", "serving"], log, env=environment) as app:
        wait_for_first_success(LOOPBACK, port, time.monotonic(), alive=app)
        yield f"http://{LOOPBACK}:{port}"


@pytest.mark.load
def test_a_locust_run_with_protocol_oip_posts_tensors_to_infer_and_every_answer_checks_out(
    app_url: str, tmp_path: Path
) -> None:
    steady = run_scenario("ecs", "steady", app_url, tmp_path, OIP_RUN, NO_AUTH)
    samples = load_samples(tmp_path / "ecs" / "steady")
    assert samples and {s["name"] for s in samples} == {f"/v2/models/{CARD['name']}/infer"}
    assert all(s["ok"] and s["status"] == 200 for s in samples)
    assert steady["requests"] > 0 and steady["errors"] == 0


@pytest.mark.load
def test_the_lambda_way_takes_signed_oip_requests_through_its_function_url(tmp_path: Path) -> None:
    """`make demo PROTOCOL=oip`'s Lambda path: signed by the demo's identity, through Mangum."""
    with serve_function_url("AWS_IAM") as (url, function):
        steady = run_scenario("lambda", "steady", url, tmp_path, OIP_RUN)
    samples = load_samples(tmp_path / "lambda" / "steady")
    assert samples and all(s["ok"] and s["sign_ms"] > 0 for s in samples)
    assert steady["errors"] == 0 and steady["signing_ms"]["requests"] == steady["requests"] > 0
    infer = [e for e in function.events if e["rawPath"] == f"/v2/models/{CARD['name']}/infer"]
    assert len(infer) == len(samples) and all(e["requestContext"]["http"]["method"] == "POST" for e in infer)
