"""Train the scikit-learn pipeline and pickle it, as a scikit-learn deployment would ship it:
a bundle with the class names for the naive peer, the bare pipeline for MLServer's sklearn runtime."""

from __future__ import annotations

from pathlib import Path

import joblib
from sklearn.pipeline import Pipeline

from model.train import build_pipeline, load_dataset


def _trained() -> tuple[Pipeline, list[str]]:
    data = load_dataset()
    return build_pipeline().fit(data.x_train, data.y_train), data.class_names


def train_and_pickle(path: Path) -> Path:
    pipeline, classes = _trained()
    joblib.dump({"pipeline": pipeline, "classes": classes}, path)
    return path


def pickle_pipeline(path: Path) -> Path:
    """The bare estimator: what ``mlserver_sklearn.SKLearnModel`` loads from its ``uri``."""
    joblib.dump(_trained()[0], path)
    return path
