"""Request rows drawn from the model's held-out rows (never one constant row); loadtests.protocols
wraps them in each protocol's body.

The held-out rows are the same ones ``make model`` evaluated the model on, so every request
scores real wine samples the model has not seen, in batches of a chosen size.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from model.artifacts import holdout_path


@dataclass(frozen=True)
class Holdout:
    feature_names: list[str]
    rows: list[list[float]]


@lru_cache(maxsize=4)
def load_holdout(path: Path | None = None) -> Holdout:
    path = path or holdout_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make model` first")
    data = json.loads(path.read_text())
    return Holdout(
        feature_names=list(data["feature_names"]), rows=[list(map(float, r)) for r in data["rows"]]
    )


class PayloadSampler:
    """Draws batches of held-out rows at random (with replacement), one sampler per simulated user."""

    def __init__(self, holdout: Holdout, batch_size: int, seed: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.holdout = holdout
        self.batch_size = batch_size
        self.random = random.Random(seed)

    def next_rows(self) -> list[list[float]]:
        return self.random.choices(self.holdout.rows, k=self.batch_size)
