"""Where this process is in an execution environment's life, for the cold flag: started fresh, or
restored from a Lambda SnapStart snapshot (serving/lambda_handler.py's after-restore hook says so).

The flag a request reports (``x-cold-start``, the log's ``cold``): ``true`` on the first request a
process serves, ``restored`` on the first after a restore, ``false`` otherwise.
"""

from __future__ import annotations

from typing import Final, Literal

ColdFlag = Literal["true", "false", "restored"]
RESTORED: Final[ColdFlag] = "restored"

_restore_pending = False


def mark_restored() -> None:
    """The next request is the first this restored environment serves."""
    global _restore_pending
    _restore_pending = True


def take_restore() -> bool:
    """Whether a restore happened since the last request asked (and clear it)."""
    global _restore_pending
    restored, _restore_pending = _restore_pending, False
    return restored
