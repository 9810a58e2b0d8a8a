"""Training is reproducible, and the export refuses to write a model that disagrees with scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from model import train
from model.artifacts import holdout_path, model_path


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("artifacts")
    return out, train.train_and_export(out)


def test_training_is_reproducible(
    fresh_export: tuple[Path, dict[str, Any]], metadata: dict[str, Any]
) -> None:
    out, fresh = fresh_export
    assert fresh["version"] == metadata["version"]  # content hash of model.onnx
    assert model_path(out).read_bytes() == model_path().read_bytes()


def test_metadata_is_a_complete_model_card(fresh_export: tuple[Path, dict[str, Any]]) -> None:
    _, card = fresh_export
    assert card["input"]["feature_names"][:2] == ["alcohol", "malic_acid"]
    assert len(card["input"]["feature_names"]) == 13
    assert card["classes"] == ["class_0", "class_1", "class_2"]
    assert 0.9 <= card["metrics"]["test_accuracy"] <= 1.0
    assert set(card["library_versions"]) >= {"scikit-learn", "skl2onnx", "onnxruntime", "numpy", "python"}
    parity = card["parity"]
    assert parity["passed"] and parity["label_agreement"] == 1.0
    assert (
        parity["max_probability_difference"] <= parity["probability_tolerance"] == train.PROBABILITY_TOLERANCE
    )


def test_exported_model_takes_float32_and_returns_a_probability_tensor(
    fresh_export: tuple[Path, Any],
) -> None:
    out, _ = fresh_export
    session = ort.InferenceSession(str(model_path(out)))
    (model_input,) = session.get_inputs()
    assert model_input.type == "tensor(float)"
    labels, probabilities = session.run(None, {model_input.name: np.zeros((2, 13), dtype=np.float32)})
    assert labels.shape == (2,)
    assert probabilities.shape == (2, 3)  # zipmap=False: a tensor, not a list of dicts


def test_parity_check_fails_loudly_when_onnx_disagrees() -> None:
    data = train.load_dataset()
    fitted = train.build_pipeline().fit(data.x_train, data.y_train)
    other = train.build_pipeline().set_params(forest__random_state=7).fit(data.x_train, 2 - data.y_train)
    mismatched_onnx = train.export_onnx(other, len(data.feature_names))

    with pytest.raises(train.ParityError, match="disagree"):
        train.check_parity(fitted, mismatched_onnx, data.x_test)


def test_export_exits_non_zero_and_writes_nothing_when_parity_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(train, "PROBABILITY_TOLERANCE", 0.0)  # float32 can never meet a zero tolerance

    assert train.main(["--out", str(tmp_path)]) == 1
    assert "export FAILED" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_holdout_rows_are_the_held_out_split(fresh_export: tuple[Path, Any]) -> None:
    out, card = fresh_export
    holdout = json.loads(holdout_path(out).read_text())
    assert len(holdout["rows"]) == len(holdout["labels"]) == card["training"]["test_rows"]
    assert holdout["feature_names"] == card["input"]["feature_names"]
