"""Stop a deploy, bootstrap or destroy at once, with one clear line, when no AWS credentials work.

    python -m infra.common.credentials          # exit 0 and print the account, or exit 2 and say why
    python -m infra.common.credentials --quiet  # the same, printing nothing (`make diff` uses it)

Without this, `cdk deploy` synthesizes, then fails deep inside the CLI with a long trace. Instance-
metadata (IMDS) credentials are off unless AWS_EC2_METADATA_DISABLED=false is set: on a laptop the
lookup would only wait on a link-local address that is not there (and this repo's machines must not
send traffic to it at all).
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

EXIT_NO_CREDENTIALS = 2
HINT = "set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION, then retry"


def caller_account() -> str:
    """The account the current credentials belong to; raises when there are none or AWS rejects them."""
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session()
    if session.get_credentials() is None:
        raise LookupError("no AWS credentials found")
    config = Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1})
    sts = session.client("sts", region_name=session.region_name or "us-east-1", config=config)
    return str(sts.get_caller_identity()["Account"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print nothing, only set the exit code")
    args = parser.parse_args(argv)
    try:
        account = caller_account()
    except (LookupError, BotoCoreError, ClientError) as error:
        if not args.quiet:
            print(f"No usable AWS credentials ({error}): {HINT}.", file=sys.stderr)
        return EXIT_NO_CREDENTIALS
    if not args.quiet:
        print(f"AWS account {account}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
