from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from serving.config import Settings


@pytest.fixture(scope="session")
def app() -> FastAPI:
    from serving.app import app

    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def small_model_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings naming a model other than the app's: two features, two classes (a logistic
    regression exported like the real one, by model.train.export_onnx), with a batch limit of 2."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from model.train import export_onnx

    directory = tmp_path_factory.mktemp("small-model")
    x = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]], dtype=np.float32)
    pipeline = Pipeline([("logistic", LogisticRegression())]).fit(x, [0, 0, 1, 1])
    (directory / "model.onnx").write_bytes(export_onnx(pipeline, n_features=2))
    card = {
        "name": "small",
        "version": "v-small",
        "input": {"name": "X", "dtype": "float32", "feature_names": ["width", "height"]},
        "classes": ["low", "high"],
        "example_instances": [[0.0, 0.5], [5.0, 5.5]],
    }
    (directory / "metadata.json").write_text(json.dumps(card))
    return Settings(
        model_path=directory / "model.onnx", metadata_path=directory / "metadata.json", max_batch_size=2
    )
