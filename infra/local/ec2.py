"""ec2 on this machine: the systemd unit's command as a host process, with this checkout's venv.

The unit (infra/ec2/one-model.service) runs ``python -m serving`` with RUNTIME_ENVIRONMENT, on
every interface; here the same command listens on 127.0.0.1 and a free port. The worker count is
the server's own (one per CPU it may use), as on the instance. systemd's restart and stop timing
for the fault scenarios is stated below; tests/infra/test_local_commands.py proves the unit agrees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from infra.local.targets import HostServiceTarget

# The unit's Restart=on-failure delay (RestartSec=) and how long it may stop after SIGTERM before
# SIGKILL (TimeoutStopSec=).
RESTART_SECONDS: Final = 2.0
STOP_TIMEOUT_SECONDS: Final = 20.0


def ec2_target(log_dir: Path, workers: int | None = None, label: str = "ec2") -> HostServiceTarget:
    """The unit's ExecStart as a host process; ``workers`` overrides the server's own count."""
    return HostServiceTarget("ec2", "systemd unit's ExecStart as a host process", log_dir, label, workers)
