"""KServe's Python model server with a custom ``kserve.Model`` on onnxruntime.

KServe's own ``sklearnserver`` is not on PyPI (it ships as a container image), so this is the
custom model of KServe's documentation: ``load`` makes the session, ``predict`` takes an
``InferRequest`` (the Open Inference Protocol's JSON or binary tensors) and returns an
``InferResponse`` with the ONNX graph's two outputs. ``kserve.ModelServer`` parses its own
flags (``--http_port``, ``--enable_grpc``, ...) from the command line. It runs in its own virtual
environment and imports nothing of the repo; it gets the app's session options (one thread).
"""

from __future__ import annotations

import os

import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve.utils.utils import generate_uuid


class WineClassifier(Model):
    def __init__(self, name: str, model_path: str) -> None:
        super().__init__(name)
        self.model_path = model_path
        self.load()

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.model_path, options, providers=["CPUExecutionProvider"])
        self.ready = True
        return self.ready

    def predict(
        self,
        payload: InferRequest,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> InferResponse:
        labels, probabilities = self.session.run(None, {"X": payload.inputs[0].as_numpy()})
        outputs = [
            InferOutput(name="label", shape=list(labels.shape), datatype="INT64"),
            InferOutput(name="probabilities", shape=list(probabilities.shape), datatype="FP32"),
        ]
        outputs[0].set_data_from_numpy(labels, binary_data=False)
        outputs[1].set_data_from_numpy(probabilities, binary_data=False)
        response_id = payload.id or generate_uuid()
        return InferResponse(response_id=response_id, model_name=self.name, infer_outputs=outputs)


if __name__ == "__main__":
    ModelServer().start([WineClassifier(os.environ["BENCH_MODEL_NAME"], os.environ["BENCH_MODEL_PATH"])])
