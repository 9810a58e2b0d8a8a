"""The model servers the app is compared with, each run the way its documentation runs it.

Every peer serves the same wine classifier from its own virtual environment (``bench.venvs``):
the ONNX file where the peer can serve one, the scikit-learn pipeline where its standard runtime
is scikit-learn's. Each is driven through the Open Inference Protocol where it speaks it, else
with the app's /predict body. One worker each; the app runs as deployed (``python -m serving``)
from a venv of ``requirements/serving.txt`` only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.peers.naive_model import pickle_pipeline
from bench.servers import Launch, Request
from bench.workloads import model_name, oip_infer_path, oip_json_body, predict_body
from infra.common.paths import REPO_ROOT
from infra.local.process import LOOPBACK, free_port
from model.artifacts import metadata_path, model_path

PEERS_DIR = Path(__file__).resolve().parent
OIP = "Open Inference Protocol (JSON)"
OWN = "its own JSON ({'instances': rows})"


@dataclass(frozen=True)
class Peer:
    name: str
    what: str
    runtime: str  # what computes the forest: "onnxruntime" or "scikit-learn"
    protocol: str
    requirements: Path
    launch: Callable[[Path, Path, int], Launch]  # (venv python, scratch dir, port)
    request: Callable[[int], Request]  # batch size -> the request


def oip_request(size: int, outputs: list[str] | None = None) -> Request:
    return Request(oip_infer_path(), oip_json_body(size, outputs))


def instances_request(size: int) -> Request:
    return Request("/predict", predict_body(size))


def _onnx_env() -> dict[str, str]:
    return {
        "BENCH_MODEL_PATH": str(model_path()),
        "BENCH_METADATA_PATH": str(metadata_path()),
        "BENCH_MODEL_NAME": model_name(),
    }


def _app(python: Path, scratch: Path, port: int) -> Launch:
    env = {"APP_HOST": LOOPBACK, "APP_PORT": str(port), "APP_WORKERS": "1"}
    return Launch([str(python), "-m", "serving"], env, REPO_ROOT)


def _fastapi(python: Path, scratch: Path, port: int) -> Launch:
    argv = [str(python), "-m", "uvicorn", "fastapi_onnx_app:app", "--host", LOOPBACK, "--port", str(port)]
    return Launch([*argv, "--no-access-log"], _onnx_env(), PEERS_DIR / "fastapi_onnx")


def _kserve(python: Path, scratch: Path, port: int) -> Launch:
    argv = [str(python), "kserve_onnx_server.py", "--http_port", str(port), "--grpc_port", str(free_port())]
    # Its per-request access and timing lines off, like every server here but the app.
    argv += ["--enable_grpc=false", "--enable_latency_logging=false", "--log_config_file=logging.json"]
    return Launch(argv, _onnx_env(), PEERS_DIR / "kserve_onnx")


def _bentoml(python: Path, scratch: Path, port: int) -> Launch:
    argv = [str(python.with_name("bentoml")), "serve", "bentoml_onnx_service:WineClassifier"]
    argv += ["--host", LOOPBACK, "--port", str(port)]
    env = _onnx_env() | {"BENTOML_HOME": str(scratch / "bentoml-home"), "BENTOML_DO_NOT_TRACK": "true"}
    return Launch(argv, env, PEERS_DIR / "bentoml_onnx")


def _mlserver(python: Path, scratch: Path, port: int) -> Launch:
    """``mlserver start <folder>``: the folder holds settings.json, model-settings.json and the
    pickled pipeline. ``parallel_workers: 0`` keeps inference in the server's one process (by
    default MLServer adds an inference worker process); no metrics server."""
    folder = scratch / f"mlserver-{port}"
    folder.mkdir(parents=True)
    settings = {
        "host": LOOPBACK,
        "http_port": port,
        "grpc_port": free_port(),
        "parallel_workers": 0,
        "metrics_endpoint": None,
        "debug": False,
    }
    model_settings = {
        "name": model_name(),
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / "model-settings.json").write_text(json.dumps(model_settings))
    pickle = scratch / "pipeline.joblib"
    if not pickle.exists():
        pickle_pipeline(pickle)
    (folder / "model.joblib").symlink_to(pickle)
    return Launch([str(python.with_name("mlserver")), "start", str(folder)], {}, folder)


APP = Peer(
    "app",
    "this repo's app, python -m serving (uvicorn, one worker)",
    "onnxruntime",
    OIP,
    REPO_ROOT / "requirements" / "serving.txt",
    _app,
    oip_request,
)
PEERS = {
    peer.name: peer
    for peer in (
        Peer(
            "fastapi_onnx",
            "FastAPI + onnxruntime as its tutorial writes it (pydantic body, sync def)",
            "onnxruntime",
            OWN,
            PEERS_DIR / "fastapi_onnx" / "requirements.txt",
            _fastapi,
            instances_request,
        ),
        Peer(
            "kserve_onnx",
            "KServe ModelServer, a custom kserve.Model on onnxruntime",
            "onnxruntime",
            OIP,
            PEERS_DIR / "kserve_onnx" / "requirements.txt",
            _kserve,
            oip_request,
        ),
        Peer(
            "mlserver_sklearn",
            "MLServer + mlserver-sklearn (no ONNX runtime exists), output predict_proba",
            "scikit-learn",
            OIP,
            PEERS_DIR / "mlserver_sklearn" / "requirements.txt",
            _mlserver,
            lambda size: oip_request(size, outputs=["predict_proba"]),
        ),
        Peer(
            "bentoml_onnx",
            "BentoML service on onnxruntime (@bentoml.service, sync @bentoml.api)",
            "onnxruntime",
            OWN,
            PEERS_DIR / "bentoml_onnx" / "requirements.txt",
            _bentoml,
            instances_request,
        ),
    )
}
