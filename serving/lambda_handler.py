"""AWS Lambda entry point: the same app, adapted by Mangum, and its SnapStart hooks.

lifespan="off": Mangum would otherwise run the ASGI lifespan on every event. Nothing needs
it, because the model is loaded when ``serving.app`` is imported (``create_app``), once per
execution environment, during Lambda's init phase.

SnapStart (``lambdaColdStart=snapstart``): awslambdaric runs the hooks registered here with
``snapshot_restore_py`` when ``AWS_LAMBDA_INITIALIZATION_TYPE`` is ``snap-start``: the before-snapshot
hook after init, then ``GET /runtime/restore/next`` (the snapshot is taken there), then the
after-restore hook in each environment restored from it, before its first invocation. Per
environment after a restore: the cold flag (``restored`` on the first request) and the ``random``
module's seed, which the snapshot would otherwise share between environments. Request ids come from
``uuid4`` (os.urandom), which needs nothing; the app caches no credentials.
"""

from __future__ import annotations

import random

import numpy as np
from mangum import Mangum
from snapshot_restore_py import register_after_restore, register_before_snapshot

from serving import environment
from serving.app import app
from serving.logs import log
from serving.model import Model

handler = Mangum(app, lifespan="off")
model: Model = app.state.model


@register_before_snapshot
def warm_before_snapshot() -> None:
    """The snapshot holds a warmed app: the model loaded and one inference run."""
    prediction = model.predict(np.zeros((1, len(model.feature_names)), dtype=np.float32))
    log.info(
        "before_snapshot", extra={"fields": {"model_version": model.version, "rows": len(prediction.label)}}
    )


@register_after_restore
def renew_after_restore() -> None:
    """What must differ per environment is made again; the next request reports ``restored``."""
    random.seed()  # from os.urandom: environments restored from one snapshot must not share it
    environment.mark_restored()
    log.info("after_restore", extra={"fields": {"ready": model.ready}})
