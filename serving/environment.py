"""Where this process is in an execution environment's life: for the cold flag, started fresh or
restored from a Lambda SnapStart snapshot (serving/lambda_handler.py's after-restore hook says so);
for readiness, draining after SIGTERM.

The flag a request reports (``x-cold-start``, the log's ``cold``): ``true`` on the first request a
process serves, ``restored`` on the first after a restore, ``false`` otherwise.
"""

from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import Final, Literal

from serving.logs import log

ColdFlag = Literal["true", "false", "restored"]
RESTORED: Final[ColdFlag] = "restored"

_restore_pending = False
_draining = False


def mark_restored() -> None:
    """The next request is the first this restored environment serves."""
    global _restore_pending
    _restore_pending = True


def take_restore() -> bool:
    """Whether a restore happened since the last request asked (and clear it)."""
    global _restore_pending
    restored, _restore_pending = _restore_pending, False
    return restored


def draining() -> bool:
    """Whether this process has been told to stop and is draining (``/ready`` answers 503)."""
    return _draining


def drain_on_sigterm(seconds: float) -> None:
    """From now on, SIGTERM first drains: ``/ready`` answers 503 while requests are still served
    for ``seconds``, so a balancer that checks ``/ready`` stops routing here before the server stops
    accepting; then the server's own SIGTERM handling (uvicorn's graceful shutdown) runs. A second
    SIGTERM skips the rest of the drain. Call it from the running loop, after the server has set
    its signal handlers (the app's lifespan)."""
    loop = asyncio.get_running_loop()
    stop = signal.getsignal(signal.SIGTERM)
    if not callable(stop):
        return  # no server is handling SIGTERM: nothing to run after a drain

    def start_draining(signum: int, frame: FrameType | None) -> None:
        global _draining
        _draining = True
        signal.signal(signal.SIGTERM, stop)
        # A signal handler may interrupt the loop anywhere: call_soon_threadsafe is the safe way in.
        loop.call_soon_threadsafe(loop.call_later, seconds, stop, signum, None)
        loop.call_soon_threadsafe(_log_draining, seconds)

    signal.signal(signal.SIGTERM, start_draining)


def _log_draining(seconds: float) -> None:
    log.info("draining", extra={"fields": {"seconds": seconds}})
