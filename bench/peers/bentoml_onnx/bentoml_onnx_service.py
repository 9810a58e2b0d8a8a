"""A BentoML service on onnxruntime, as BentoML's documentation writes one.

``@bentoml.service`` with one worker, the session made in ``__init__``, a sync ``@bentoml.api``
whose typed parameter is the JSON body's ``instances`` field; run with
``bentoml serve bentoml_onnx_service:WineClassifier``. BentoML does not speak the Open Inference
Protocol, so it is driven with the same ``{"instances": [...]}`` body as the app's /predict.
It runs in its own virtual environment and imports nothing of the repo; it gets the app's
session options (one thread).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import onnxruntime as ort


# Its access log off, like every server here but the app (which writes its own JSON line).
@bentoml.service(workers=1, logging={"access": {"enabled": False}})
class WineClassifier:
    def __init__(self) -> None:
        self.card = json.loads(Path(os.environ["BENCH_METADATA_PATH"]).read_text())
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            os.environ["BENCH_MODEL_PATH"], options, providers=["CPUExecutionProvider"]
        )

    @bentoml.api
    def predict(self, instances: list[list[float]]) -> dict[str, Any]:
        labels, probabilities = self.session.run(None, {"X": np.array(instances, dtype=np.float32)})
        classes = self.card["classes"]
        return {
            "model_version": self.card["version"],
            "predictions": [
                {"label": classes[label], "probabilities": dict(zip(classes, row, strict=True))}
                for label, row in zip(labels.tolist(), probabilities.tolist(), strict=True)
            ],
        }
