"""The EC2 stack's pinned Debian AMI: the values CDK keeps in cdk.context.json (``cached_in_context``).

    python -m infra.ec2.ami show     # the pinned AMI per account, region and architecture
    python -m infra.ec2.ami forget   # drop the pins; the next synth with credentials looks up anew

`make refresh-ami` runs ``forget``, a synth of the EC2 stack (the CDK CLI looks Debian's newest AMI
up and writes it back) and ``show``; `make deploy-ec2` then rolls the instances onto it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from infra.common.paths import REPO_ROOT
from infra.ec2.stack import DEBIAN_AMI_PARAMETER

CDK_CONTEXT_FILE = REPO_ROOT / "cdk.context.json"


def pinned(context: dict[str, Any]) -> dict[str, str]:
    """The Debian AMI lookups in a cdk.context.json: CDK's key -> the AMI id."""
    prefix = ":parameterName=" + DEBIAN_AMI_PARAMETER.partition("{arch}")[0]
    return {key: str(value) for key, value in context.items() if key.startswith("ssm:") and prefix in key}


def forget(path: Path = CDK_CONTEXT_FILE) -> list[str]:
    """Remove the pinned AMIs from ``path`` (every other cached value stays); the keys removed."""
    context = json.loads(path.read_text()) if path.exists() else {}
    keys = pinned(context)
    kept = {key: value for key, value in context.items() if key not in keys}
    path.write_text(json.dumps(kept, indent=2) + "\n")
    return sorted(keys)


def main(argv: list[str]) -> int:
    if argv == ["forget"]:
        for key in forget():
            print(f"forgot {key}")
        return 0
    if argv == ["show"]:
        context = json.loads(CDK_CONTEXT_FILE.read_text()) if CDK_CONTEXT_FILE.exists() else {}
        for key, ami in sorted(pinned(context).items()):
            print(f"{ami}  {key}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
