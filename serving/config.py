"""Settings, read once from the environment (prefix ``APP_``, any case) and validated by pydantic.

A plain pydantic model rather than pydantic-settings: the same names, defaults, validation
and errors, without importing pydantic-settings and python-dotenv at every cold start.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "model" / "artifacts"
ENV_PREFIX = "APP_"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model_path: Path = Field(ARTIFACTS_DIR / "model.onnx", description="The ONNX model file.")
    metadata_path: Path = Field(ARTIFACTS_DIR / "metadata.json", description="The model card beside it.")
    max_batch_size: int = Field(1000, ge=1, description="Most instances accepted in one /predict call.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies get 413.")
    log_level: str = Field("INFO", description="Python logging level for the one-line-per-request log.")
    # One request runs at a time per process, and parallelism comes from processes (uvicorn
    # workers, Fargate tasks, Lambda environments). One intra-op thread per process avoids
    # oversubscribing the vCPUs and keeps a 15 µs model from paying thread hand-off costs.
    intra_op_threads: int = Field(1, ge=0, description="onnxruntime intra-op threads (0 = one per core).")
    inter_op_threads: int = Field(1, ge=0, description="onnxruntime inter-op threads.")

    @model_validator(mode="before")
    @classmethod
    def _environment_under_arguments(cls, values: Any) -> Any:
        """``APP_<FIELD>`` variables (names in any case) fill what the keyword arguments leave out."""
        if not isinstance(values, dict):
            return values
        from_env = {
            name: value
            for key, value in os.environ.items()
            if key.upper().startswith(ENV_PREFIX)
            and (name := key[len(ENV_PREFIX) :].lower()) in cls.model_fields
        }
        return from_env | values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
