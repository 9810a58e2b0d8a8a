from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.config import Settings


def test_settings_come_from_app_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MAX_BATCH_SIZE", "64")
    monkeypatch.setenv("APP_LOG_LEVEL", "warning")

    settings = Settings()

    assert settings.max_batch_size == 64
    assert settings.log_level == "warning"
    assert settings.model_path.name == "model.onnx"


def test_nonsense_settings_fail_at_start_not_at_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MAX_BATCH_SIZE", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_the_body_limit_is_derived_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_MAX_BODY_BYTES", raising=False)
    assert Settings().max_body_bytes is None  # the app sizes it: serving.schemas.body_limit
    monkeypatch.setenv("APP_MAX_BODY_BYTES", "2048")
    assert Settings().max_body_bytes == 2048
