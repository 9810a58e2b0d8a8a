"""The two protocols a Locust user can speak to the app (``--protocol``): for each, the request's path
and body for a batch of held-out rows, and what makes its answer valid.

rest  POST /predict ``{"instances": rows}``: the app's own API; one prediction per row comes back.
oip   POST /v2/models/<name>/infer: the Open Inference Protocol (KServe v2, as MLServer, KServe and
      Triton speak it), JSON tensors. Input "X", FP32, shape [N, 13], row-major and flattened; the
      answer holds the model's two outputs, "label" [N] and "probabilities" [N, classes].

The model's name and classes come from its card (model/artifacts/metadata.json), as the app's do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Protocol

from model.artifacts import metadata_path

Rows = list[list[float]]
OIP_INPUT: Final = "X"
OIP_OUTPUTS: Final = ("label", "probabilities")


class WireProtocol(Protocol):
    @property
    def name(self) -> str: ...  # what --protocol takes

    @property
    def title(self) -> str: ...  # how the report names it

    @property
    def path(self) -> str: ...

    def body(self, rows: Rows) -> dict[str, Any]: ...

    def problem(self, answer: Any, rows: int) -> str | None:
        """Why ``answer`` (the parsed JSON of a 200) is not a valid answer for ``rows`` rows, or None."""


@dataclass(frozen=True)
class Rest:
    name: str = "rest"
    title: str = "REST: POST /predict (JSON instances)"
    path: str = "/predict"

    def body(self, rows: Rows) -> dict[str, Any]:
        return {"instances": rows}

    def problem(self, answer: Any, rows: int) -> str | None:
        predictions = answer.get("predictions") if isinstance(answer, dict) else None
        if not isinstance(predictions, list) or len(predictions) != rows:
            return f"expected {rows} predictions"
        return None


@dataclass(frozen=True)
class OpenInference:
    model_name: str
    classes: int
    name: str = "oip"

    @property
    def path(self) -> str:
        return f"/v2/models/{self.model_name}/infer"

    @property
    def title(self) -> str:
        return f"Open Inference Protocol: POST {self.path} (JSON tensors)"

    def body(self, rows: Rows) -> dict[str, Any]:
        shape = [len(rows), len(rows[0]) if rows else 0]
        data = [value for row in rows for value in row]  # row-major, flattened
        return {"inputs": [{"name": OIP_INPUT, "datatype": "FP32", "shape": shape, "data": data}]}

    def problem(self, answer: Any, rows: int) -> str | None:
        if not isinstance(answer, dict) or answer.get("model_name") != self.model_name:
            return f"expected an answer from model {self.model_name!r}"
        outputs = answer.get("outputs")
        if not isinstance(outputs, list) or not all(isinstance(output, dict) for output in outputs):
            return "expected a list of outputs"
        by_name = {output.get("name"): output for output in outputs}
        if set(by_name) != set(OIP_OUTPUTS):
            return f"expected outputs {list(OIP_OUTPUTS)}, got {sorted(map(str, by_name))}"
        expected = {"label": ("INT64", [rows]), "probabilities": ("FP32", [rows, self.classes])}
        for output_name, (datatype, shape) in expected.items():
            output = by_name[output_name]
            if output.get("datatype") != datatype or output.get("shape") != shape:
                return f"{output_name}: expected {datatype} {shape}"
            data = output.get("data")
            if not isinstance(data, list) or len(data) != math.prod(shape):
                return f"{output_name}: expected {math.prod(shape)} values"
        return None


@lru_cache(maxsize=1)
def open_inference() -> OpenInference:
    card = json.loads(metadata_path().read_text())
    return OpenInference(model_name=card["name"], classes=len(card["classes"]))


REST: Final = Rest()
PROTOCOL_NAMES: Final = ("rest", "oip")
DEFAULT_PROTOCOL: Final = "rest"


def protocol(name: str) -> WireProtocol:
    if name == "rest":
        return REST
    if name == "oip":
        return open_inference()
    raise ValueError(f"unknown protocol {name!r}; expected one of {PROTOCOL_NAMES}")
