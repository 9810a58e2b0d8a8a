"""Where training writes the model and the app reads it: the one home of these paths.

Standard library only: the serving image ships this module beside the artifacts, without the
training dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

ARTIFACTS_DIR: Final = Path(__file__).resolve().parent / "artifacts"
MODEL_FILE: Final = "model.onnx"  # the ONNX graph: input X (FP32 [N, 13]), outputs label, probabilities
METADATA_FILE: Final = "metadata.json"  # the model card the app serves at /metadata
HOLDOUT_FILE: Final = "holdout.json"  # held-out rows and their expected labels, for parity checks


def model_path(artifacts_dir: Path = ARTIFACTS_DIR) -> Path:
    return artifacts_dir / MODEL_FILE


def metadata_path(artifacts_dir: Path = ARTIFACTS_DIR) -> Path:
    return artifacts_dir / METADATA_FILE


def holdout_path(artifacts_dir: Path = ARTIFACTS_DIR) -> Path:
    return artifacts_dir / HOLDOUT_FILE
