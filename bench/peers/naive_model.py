"""Train the scikit-learn pipeline and pickle it, as the naive peer's deployment would ship it."""

from __future__ import annotations

from pathlib import Path

import joblib

from model.train import build_pipeline, load_dataset


def train_and_pickle(path: Path) -> Path:
    data = load_dataset()
    pipeline = build_pipeline().fit(data.x_train, data.y_train)
    joblib.dump({"pipeline": pipeline, "classes": data.class_names}, path)
    return path
