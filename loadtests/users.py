"""The simulated client: a Locust ``FastHttpUser`` that POSTs held-out rows to the app, in the
protocol ``--protocol`` names (loadtests.protocols): ``rest`` (/predict, the default) or ``oip``
(the Open Inference Protocol's /v2/models/<name>/infer). Each answer is checked, not just its status.

Against a Function URL with auth ``AWS_IAM`` (``LOADTEST_SIGV4_REGION`` set, see
``loadtests.signing``) every request is SigV4-signed with the caller's credentials first; the time
spent signing is recorded per request (``sign_ms``) and is not part of the measured latency.

Every response is also written to a JSON-lines file (one per Locust process, so distributed
runs with ``--processes`` need no locking) with its start time, duration, status and the app's
``x-cold-start`` header. The report computes percentiles, cold/warm splits and time series from
these samples; Locust's own CSV/HTML files are kept beside them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import gevent.ssl
from locust import FastHttpUser, constant, constant_pacing, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests.locust_run import PHASES_FILE
from loadtests.payloads import PayloadSampler, load_holdout
from loadtests.protocols import DEFAULT_PROTOCOL, PROTOCOL_NAMES, protocol
from loadtests.signing import REGION_VARIABLE, caller_credentials, timed_signed_headers
from loadtests.tls import ca_bundle

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
Signer = Callable[[str, bytes], tuple[dict[str, str], float]]


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    group = parser.add_argument_group("one-model-three-ways")
    group.add_argument(
        "--batch-size", type=int, default=1, env_var="LOADTEST_BATCH_SIZE", help="rows per request"
    )
    group.add_argument(
        "--protocol",
        choices=PROTOCOL_NAMES,
        default=DEFAULT_PROTOCOL,
        env_var="LOADTEST_PROTOCOL",
        help="rest: POST /predict; oip: the Open Inference Protocol's POST /v2/models/<name>/infer",
    )
    group.add_argument(
        "--pacing",
        type=float,
        default=0.0,
        env_var="LOADTEST_PACING",
        help="seconds per request per user (constant_pacing); 0 = closed loop, next request at once",
    )
    group.add_argument("--steady-users", type=int, default=8, env_var="LOADTEST_STEADY_USERS")
    group.add_argument("--ramp-seconds", type=float, default=10.0, env_var="LOADTEST_RAMP_SECONDS")
    group.add_argument("--hold-seconds", type=float, default=30.0, env_var="LOADTEST_HOLD_SECONDS")
    group.add_argument("--burst-users", type=int, default=4, env_var="LOADTEST_BURST_USERS")
    group.add_argument("--burst-seconds", type=float, default=10.0, env_var="LOADTEST_BURST_SECONDS")
    group.add_argument("--step-users", type=int, default=2, env_var="LOADTEST_STEP_USERS")
    group.add_argument("--step-factor", type=int, default=10, env_var="LOADTEST_STEP_FACTOR")
    group.add_argument("--baseline-seconds", type=float, default=10.0, env_var="LOADTEST_BASELINE_SECONDS")
    group.add_argument("--step-seconds", type=float, default=30.0, env_var="LOADTEST_STEP_SECONDS")
    group.add_argument("--after-seconds", type=float, default=10.0, env_var="LOADTEST_AFTER_SECONDS")
    group.add_argument(
        "--samples-dir",
        default="",
        env_var="LOADTEST_SAMPLES_DIR",
        help="where per-request samples are written",
    )


class SampleRecorder:
    """Appends one JSON line per request to ``<dir>/samples-<pid>.jsonl``."""

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.pid = 0

    def record(self, environment: Environment, row: dict[str, Any]) -> None:
        out = self._file(environment)
        if out is not None:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")

    def _file(self, environment: Environment) -> IO[str] | None:
        if self.file is None or self.pid != os.getpid():  # a forked worker opens its own file
            folder = getattr(environment.parsed_options, "samples_dir", "")
            if not folder:
                return None
            self.pid = os.getpid()
            self.file = (Path(folder) / f"samples-{self.pid}.jsonl").open("a", buffering=1 << 16)
        return self.file

    def flush(self) -> None:
        if self.file is not None and self.pid == os.getpid():
            self.file.flush()


recorder = SampleRecorder()
_environment: Environment | None = None


@events.init.add_listener
def remember_environment(environment: Environment, **_: Any) -> None:
    global _environment
    _environment = environment


@events.request.add_listener
def record_sample(
    name: str,
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    if _environment is None:
        return
    headers = getattr(response, "headers", None) or {}
    row = {
        "t": start_time if start_time is not None else time.time() - response_time / 1000,
        "ms": round(response_time, 3),
        "ok": exception is None,
        "status": getattr(response, "status_code", 0) or 0,
        # A SnapStart restore ("restored") is that mode's cold start.
        "cold": headers.get("x-cold-start") in ("true", "restored"),
        "name": name,
    }
    if exception is not None:
        row["error"] = str(exception)[:200]
    if context and "sign_ms" in context:
        row["sign_ms"] = round(context["sign_ms"], 4)
    recorder.record(_environment, row)


@events.test_stop.add_listener
def write_phases(environment: Environment, **_: Any) -> None:
    recorder.flush()
    shape = environment.shape_class
    folder = getattr(environment.parsed_options, "samples_dir", "")
    if folder and shape is not None and not isinstance(environment.runner, WorkerRunner):
        marks = getattr(shape, "phase_marks", {})
        (Path(folder) / PHASES_FILE).write_text(json.dumps({**marks, "stopped": time.time()}))


@events.quit.add_listener
def flush_samples(**_: Any) -> None:
    recorder.flush()


def verified_ssl_context(cafile: str | None = None, **_: Any) -> gevent.ssl.SSLContext:
    """geventhttpclient's context factory (it passes its default ``cafile``), as ``client_context``."""
    return gevent.ssl.create_default_context(cafile=ca_bundle() or cafile)


class PredictUser(FastHttpUser):
    """One client: a prediction request with a random batch of held-out rows, paced or back-to-back."""

    # A load test measures the server, so keep the connection open like a real client would.
    network_timeout = 60.0
    connection_timeout = 60.0
    # HTTPS is verified (FastHttpUser's default is not to): against the system's CAs, or only the
    # local run's certificate when LOADTEST_CA_BUNDLE names it (loadtests.tls).
    insecure = False
    ssl_context_factory = staticmethod(verified_ssl_context)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        batch_size = getattr(options, "batch_size", 1)
        pacing = getattr(options, "pacing", 0.0)
        self.sampler = PayloadSampler(load_holdout(), batch_size, seed=id(self))
        self.protocol = protocol(getattr(options, "protocol", DEFAULT_PROTOCOL))
        self.pace = constant_pacing(pacing) if pacing > 0 else constant(0)
        self.sign = sigv4_signer(os.environ.get(REGION_VARIABLE))

    def wait_time(self) -> float:
        return float(self.pace(self))

    @task
    def predict(self) -> None:
        rows = self.sampler.next_rows()
        path = self.protocol.path
        # ASCII (ensure_ascii): the bytes signed are the bytes sent.
        data = json.dumps(self.protocol.body(rows))
        headers, context = JSON_HEADERS, {}
        if self.sign is not None:
            headers, context["sign_ms"] = self.sign(f"{str(self.host).rstrip('/')}{path}", data.encode())
        with self.client.post(
            path, data=data, headers=headers, name=path, catch_response=True, context=context
        ) as response:
            if problem := self.answer_problem(response, len(rows)):
                response.failure(problem)

    def answer_problem(self, response: Any, rows: int) -> str | None:
        if not response.status_code:  # no answer at all: say why (refused, reset, a certificate refused)
            return f"no response: {getattr(response, 'error', None)!r}"[:300]
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {(response.text or '')[:200]}"
        try:
            answer = response.json()
        except ValueError:
            return f"not JSON: {(response.text or '')[:200]}"
        return self.protocol.problem(answer, rows)


def sigv4_signer(region: str | None) -> Signer | None:
    """Signs a POST for the Function URL in ``region`` with the SDK's credentials (None: no signing)."""
    if not region:
        return None
    credentials = caller_credentials()

    def sign(url: str, data: bytes) -> tuple[dict[str, str], float]:
        return timed_signed_headers(credentials, region, "POST", url, data, JSON_HEADERS)

    return sign
