"""The naive peer: what public serverless-inference samples do.

The FastAPI tutorial's service (``bench/peers/fastapi_onnx/tutorial.py``, the same one the
idiomatic FastAPI + onnxruntime peer serves) on the scikit-learn pipeline unpickled at import.
It is given the benefit of the doubt where samples differ: one ``predict_proba`` call (not
``predict`` and ``predict_proba``) and Mangum with ``lifespan="off"``. The pickle path comes
from ``BENCH_NAIVE_MODEL``.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from mangum import Mangum

from bench.peers.fastapi_onnx.tutorial import build_app

_bundle = joblib.load(os.environ["BENCH_NAIVE_MODEL"])
pipeline = _bundle["pipeline"]


def _infer(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = pipeline.predict_proba(rows)
    return probabilities.argmax(axis=1), probabilities


app = build_app(_infer, _bundle["classes"], "naive")
handler = Mangum(app, lifespan="off")
