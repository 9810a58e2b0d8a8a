"""Settings, read once from the environment (prefix ``APP_``) by pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "model" / "artifacts"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", frozen=True)

    model_path: Path = Field(ARTIFACTS_DIR / "model.onnx", description="The ONNX model file.")
    metadata_path: Path = Field(ARTIFACTS_DIR / "metadata.json", description="The model card beside it.")
    max_batch_size: int = Field(1000, ge=1, description="Most instances accepted in one /predict call.")
    max_body_bytes: int | None = Field(
        None,
        ge=1024,
        description="Larger request bodies get 413. Unset: the largest valid request's size plus "
        "headroom, from max_batch_size and the model's features (serving.schemas.body_limit).",
    )
    log_level: str = Field("INFO", description="Python logging level for the one-line-per-request log.")
    # One request runs at a time per process, and parallelism comes from processes (uvicorn
    # workers, Fargate tasks, Lambda environments). One intra-op thread per process avoids
    # oversubscribing the vCPUs and keeps a 15 µs model from paying thread hand-off costs.
    intra_op_threads: int = Field(1, ge=0, description="onnxruntime intra-op threads (0 = one per core).")
    inter_op_threads: int = Field(1, ge=0, description="onnxruntime inter-op threads.")

    # ---- the HTTP server (`python -m serving`: EC2's unit and the ECS image; Lambda has none)
    host: str = Field("127.0.0.1", description="Address uvicorn binds; the image and the unit set 0.0.0.0.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port uvicorn listens on.")
    # Must outlast the load balancer's idle timeout (infra/common/sizing.py ALB_IDLE_TIMEOUT_SECONDS,
    # 60 s): the balancer, not the server, then closes an idle connection, so it never reuses one
    # that the server is closing at that instant (a 502). tests/serving/test_server.py keeps the order.
    keep_alive_seconds: int = Field(75, ge=1, description="Idle keep-alive connections close after this.")
    graceful_shutdown_seconds: int = Field(
        10, ge=1, description="On SIGTERM, in-flight requests get this long before the process exits."
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="A request whose headers are not complete by then is cut off."
    )
    body_timeout_seconds: float = Field(
        10.0, gt=0, description="A request whose body is not complete by then gets 408."
    )
    limit_concurrency: int = Field(
        512, ge=1, description="Connections per worker beyond this get 503 instead of a reset."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
