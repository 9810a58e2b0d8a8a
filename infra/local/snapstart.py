"""A stand-in for the Lambda Runtime API's SnapStart lifecycle, to drive the real awslambdaric.

The Runtime Interface Emulator has no SnapStart, nor does `sam local` (it runs the same emulator).
This file runs inside the Lambda image, with the image's own Python and the standard library only
(tests/infra/test_snapstart.py mounts it), and starts the runtime command as its child::

    python /snapstart.py --port 8080 -- python -m awslambdaric serving.lambda_handler.handler

The child sees ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` and this server as its Runtime API.
The lifecycle, as the Lambda guide's "Implementing SnapStart hooks for container images" draws it:
init; ``GET /runtime/restore/next`` (the snapshot point: nothing is answered until a restore);
the after-restore hooks; then ``GET /runtime/invocation/next`` and a response per invocation.

A real snapshot freezes the microVM and resumes it elsewhere; here the process waits at the snapshot
point (the test may ``docker pause`` it there) and resumes in place. The first invoke after the
snapshot restores, as on Lambda. The control side, on the same port:

    GET  /snapshot     wait for the snapshot point; {"init_ms": ...}
    POST /2015-03-31/functions/function/invocations   invoke (the RIE's path), restoring first
    GET  /calls        the Runtime API calls so far, in order

It prints ``INIT_REPORT`` and ``REPORT`` lines in Lambda's format (with ``Restore Duration`` on the
first invoke after a restore), so the measured phases read like CloudWatch's.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RUNTIME = "/2018-06-01/runtime"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:one-model-snapstart:live"
WAIT_SECONDS = 120.0


class Lifecycle:
    """One execution environment's state: where the runtime is, and what it was asked to do."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.calls: list[str] = []
        self.snapshot_reached = threading.Event()
        self.restore = threading.Event()
        self.init_ms: float | None = None
        self.restore_started: float | None = None
        self.restore_ms: float | None = None
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.results: dict[str, queue.Queue[tuple[str, bytes]]] = {}
        self.lock = threading.Lock()

    def record(self, call: str) -> None:
        with self.lock:
            self.calls.append(call)

    def at_snapshot_point(self) -> None:
        self.init_ms = (time.monotonic() - self.started) * 1000
        print(f"INIT_REPORT Init Duration: {self.init_ms:.2f} ms\tPhase: init\tStatus: success", flush=True)
        self.snapshot_reached.set()
        self.restore.wait()
        self.restore_started = time.monotonic()

    def next_invocation(self) -> tuple[str, bytes]:
        if self.restore_started is not None and self.restore_ms is None:
            self.restore_ms = (time.monotonic() - self.restore_started) * 1000  # after-restore hooks ran
        return self.events.get()

    def invoke(self, body: bytes) -> tuple[str, bytes, float | None]:
        """Hand one event to the runtime and wait for its answer; restore first after a snapshot."""
        restoring = self.snapshot_reached.is_set() and not self.restore.is_set()
        if restoring:
            self.restore.set()
        request_id = str(uuid.uuid4())
        answer: queue.Queue[tuple[str, bytes]] = queue.Queue()
        with self.lock:
            self.results[request_id] = answer
        started = time.monotonic()
        self.events.put((request_id, body))
        outcome, payload = answer.get(timeout=WAIT_SECONDS)
        duration_ms = (time.monotonic() - started) * 1000
        restore_ms = self.restore_ms if restoring else None
        _report(request_id, duration_ms, restore_ms)
        return outcome, payload, restore_ms

    def answer(self, request_id: str, outcome: str, payload: bytes) -> None:
        with self.lock:
            waiting = self.results.pop(request_id)
        waiting.put((outcome, payload))


def _report(request_id: str, duration_ms: float, restore_ms: float | None) -> None:
    line = f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
    if restore_ms is not None:
        line += f"\tRestore Duration: {restore_ms:.2f} ms"
    print(line, flush=True)


def handler_for(lifecycle: Lifecycle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the runtime client keeps its connection
        disable_nagle_algorithm = True  # headers and body go out as separate small writes

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the container's log is the runtime's

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            if self.path == f"{RUNTIME}/restore/next":
                lifecycle.record("restore/next")
                lifecycle.at_snapshot_point()
                self._send(200)
            elif self.path == f"{RUNTIME}/invocation/next":
                lifecycle.record("invocation/next")
                request_id, event = lifecycle.next_invocation()
                deadline = str(int(time.time() * 1000 + WAIT_SECONDS * 1000))
                self._send(200, event, _invocation_headers(request_id, deadline))
            elif self.path == "/snapshot":
                reached = lifecycle.snapshot_reached.wait(WAIT_SECONDS)
                self._send(200 if reached else 504, json.dumps({"init_ms": lifecycle.init_ms}).encode())
            elif self.path == "/calls":
                self._send(200, json.dumps(lifecycle.calls).encode())
            else:
                self._send(404)

        def do_POST(self) -> None:
            body = self._body()
            parts = self.path.removeprefix(f"{RUNTIME}/").split("/")
            if self.path == INVOKE_PATH:
                outcome, payload, restore_ms = lifecycle.invoke(body)
                headers = {"x-outcome": outcome}
                if restore_ms is not None:
                    headers["x-restore-duration-ms"] = f"{restore_ms:.2f}"
                self._send(200, payload, headers)
            elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                lifecycle.record(f"invocation/{parts[2]}")
                lifecycle.answer(parts[1], parts[2], body)
                self._send(202)
            elif parts[-1] == "error":  # init/error, restore/error: the runtime gives up
                lifecycle.record("/".join(parts))
                print(f"runtime reported {self.path}: {body.decode(errors='replace')}", flush=True)
                self._send(202)
            else:
                self._send(404)

    return Handler


def _invocation_headers(request_id: str, deadline_ms: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": deadline_ms,
        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
        "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SnapStart's Runtime API lifecycle, around one runtime")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the runtime's command")
    args = parser.parse_args(argv)
    command = [word for word in args.command if word != "--"]
    lifecycle = Lifecycle()
    server = ThreadingHTTPServer(("0.0.0.0", args.port), handler_for(lifecycle))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{args.port}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "AWS_LAMBDA_FUNCTION_NAME": "one-model-snapstart",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
    }
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
