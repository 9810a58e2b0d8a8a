"""The ONNX session and model card, created once per process when this module is imported.

Import time, not a FastAPI lifespan hook: Mangum runs the lifespan on every Lambda event
unless it is off, and the first request should not pay for loading the model.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from serving.config import Settings, get_settings


@dataclass(frozen=True)
class Prediction:
    labels: list[str]
    probabilities: np.ndarray
    inference_seconds: float


class Model:
    def __init__(self, settings: Settings) -> None:
        self.card: dict[str, Any] = json.loads(settings.metadata_path.read_text())
        self.version: str = self.card["version"]
        self.feature_names: list[str] = self.card["input"]["feature_names"]
        self.classes: list[str] = self.card["classes"]
        self.session = ort.InferenceSession(
            str(settings.model_path),
            sess_options=_session_options(settings),
            providers=["CPUExecutionProvider"],
        )
        self._input_name = self.session.get_inputs()[0].name
        self.ready = False

    def predict(self, rows: np.ndarray) -> Prediction:
        started = time.perf_counter()
        label_indices, probabilities = self.session.run(None, {self._input_name: rows})
        elapsed = time.perf_counter() - started
        return Prediction([self.classes[i] for i in label_indices.tolist()], probabilities, elapsed)

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
    model = Model(settings or get_settings())
    model.warm_up()
    return model
