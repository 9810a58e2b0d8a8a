"""Cold start: a fresh Python process until its first successful response through a Lambda handler.

Measured from just before ``Popen`` to the moment the child reports success on stdout, so it
includes interpreter start-up, imports, model load and the first request, as a Lambda init plus
first invoke does. Floors are processes doing only the unavoidable part. Targets are interleaved
round by round and each figure is a median.

Bytecode is cached (``bench.workloads.PYCACHE``) and primed by one untimed run per target, as
in the images, which ship compiled bytecode.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.timing import median, rotated_rounds
from bench.workloads import child_env, predict_body
from infra.common.paths import REPO_ROOT
from infra.local.function_url.events import function_url_event
from model.artifacts import model_path

READY = "BENCH-READY"

# The app's session options (one intra-op and one inter-op thread, sequential): a thread pool
# the app does not create would make the floor slower than the app.
_SESSION = (
    "options = onnxruntime.SessionOptions()\n"
    "options.intra_op_num_threads = options.inter_op_num_threads = 1\n"
    "options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL\n"
    f"onnxruntime.InferenceSession({str(model_path())!r}, options, providers=['CPUExecutionProvider'])\n"
)
_FIRST_RESPONSE = (
    "import json, os\n"
    "from {module} import handler\n"
    "response = handler(json.loads(os.environ['BENCH_EVENT']), None)\n"
    "assert response['statusCode'] == 200, response\n"
)
CHILDREN = {
    "floor_onnxruntime": f"import numpy, onnxruntime\n{_SESSION}",
    "floor_fastapi": f"import numpy, onnxruntime, fastapi\n{_SESSION}",
    "app": _FIRST_RESPONSE.format(module="serving.lambda_handler"),
    "naive_peer": _FIRST_RESPONSE.format(module="bench.peers.naive"),
}


def measure(naive_env: dict[str, str], rounds: int) -> dict[str, Any]:
    env = _child_env(naive_env)
    for code in CHILDREN.values():  # prime the bytecode cache; not timed
        _time_to_ready(code, env)
    samples: dict[str, list[float]] = {name: [] for name in CHILDREN}
    for name in rotated_rounds(list(CHILDREN), rounds):
        samples[name].append(_time_to_ready(CHILDREN[name], env))
    return {
        "median_s": {name: median(values) for name, values in samples.items()},
        "rounds_s": samples,
    }


def _child_env(naive_env: dict[str, str]) -> dict[str, str]:
    event = json.dumps(function_url_event("POST", "/predict", predict_body(1)))
    return child_env(naive_env | {"BENCH_EVENT": event})


def _time_to_ready(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", f"{code}print({READY!r}, flush=True)\n"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:  # the app logs its request before the marker
        if line.strip() == READY:
            elapsed = time.perf_counter() - started
            break
    else:
        child.wait()
        raise RuntimeError(
            f"cold-start child failed ({child.returncode}): {child.stderr.read() if child.stderr else ''}"
        )
    child.communicate(timeout=60)
    return elapsed
