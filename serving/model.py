"""The ONNX session and model card, loaded once per app (``load_model``, which
``serving.app.create_app`` calls): ``serving.app:app`` is made at import, so the model is loaded
and warmed before a process serves, and in Lambda's init phase. Not in a FastAPI lifespan hook:
Mangum runs it per event unless it is off, and the first request should not pay for the load.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from serving.config import Settings, get_settings
from serving.metrics import BATCH_ROWS, INFERENCE_SECONDS


@dataclass(frozen=True)
class Prediction:
    """What the ONNX graph returns for a batch: its two outputs, as the graph names them."""

    label: np.ndarray  # INT64 [N]: an index into classes
    probabilities: np.ndarray  # FP32 [N, classes], in the order of classes
    classes: list[str]
    inference_seconds: float

    @property
    def labels(self) -> list[str]:
        """The class name of each row."""
        return [self.classes[i] for i in self.label.tolist()]


class Model:
    def __init__(self, settings: Settings) -> None:
        self.card: dict[str, Any] = json.loads(settings.metadata_path.read_text())
        self.name: str = self.card["name"]
        self.version: str = self.card["version"]
        self.feature_names: list[str] = self.card["input"]["feature_names"]
        self.classes: list[str] = self.card["classes"]
        self.session = ort.InferenceSession(
            str(settings.model_path),
            sess_options=_session_options(settings),
            providers=["CPUExecutionProvider"],
        )
        self.input_name: str = self.session.get_inputs()[0].name
        self.output_names: list[str] = [output.name for output in self.session.get_outputs()]
        self.ready = False

    def predict(self, rows: np.ndarray) -> Prediction:
        """Score a float32 matrix of shape (n, features), whichever protocol it came by."""
        started = time.perf_counter()
        label, probabilities = self.session.run(None, {self.input_name: rows})
        prediction = Prediction(label, probabilities, self.classes, time.perf_counter() - started)
        INFERENCE_SECONDS.observe(prediction.inference_seconds)
        BATCH_ROWS.observe(len(rows))
        return prediction

    def warm_up(self) -> None:
        """One real inference so the first request does not pay for lazy kernel set-up."""
        self.predict(np.zeros((1, len(self.feature_names)), dtype=np.float32))
        self.ready = True


def _session_options(settings: Settings) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.inter_op_num_threads = settings.inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def load_model(settings: Settings | None = None) -> Model:
    """The model ``settings`` name (the process's settings by default), loaded and warmed up."""
    model = Model(settings or get_settings())
    model.warm_up()
    return model
