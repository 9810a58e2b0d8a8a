"""The idiomatic FastAPI + onnxruntime service (``tutorial.py``'s shape), run as its tutorial runs
it: ``uvicorn fastapi_onnx_app:app``, from its own virtual environment (``requirements.txt``
beside it). The model file and its card come from the environment. It is given the app's
session options (one thread), so the comparison is of the serving layers, not of onnxruntime's
threads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnxruntime as ort
from tutorial import build_app  # beside this file: uvicorn puts its working directory on sys.path

card = json.loads(Path(os.environ["BENCH_METADATA_PATH"]).read_text())
options = ort.SessionOptions()
options.intra_op_num_threads = options.inter_op_num_threads = 1
session = ort.InferenceSession(os.environ["BENCH_MODEL_PATH"], options, providers=["CPUExecutionProvider"])

app = build_app(lambda rows: tuple(session.run(None, {"X": rows})), card["classes"], card["version"])
