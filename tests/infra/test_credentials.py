"""The credential pre-check behind `make bootstrap/deploy-*/destroy-*`: moto stands in for STS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from moto import mock_aws

from infra.common import credentials
from infra.common.shared import REPO_ROOT


def _env_without_credentials(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in _env_without_credentials(tmp_path).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("fake_credentials")
def test_working_credentials_pass_and_name_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert credentials.main([]) == 0
    assert capsys.readouterr().out.strip() == "AWS account 123456789012"


@pytest.mark.usefixtures("no_credentials")
def test_missing_credentials_fail_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert credentials.main([]) == credentials.EXIT_NO_CREDENTIALS
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "No usable AWS credentials" in captured.err


@pytest.mark.usefixtures("no_credentials")
def test_quiet_mode_only_sets_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert credentials.main(["--quiet"]) == credentials.EXIT_NO_CREDENTIALS
    assert capsys.readouterr() == ("", "")


def test_make_deploy_stops_before_cdk_without_credentials(tmp_path: Path) -> None:
    """`make deploy-lambda` with no credentials: one clear line, non-zero, and no synth or deploy."""
    result = subprocess.run(
        ["make", "--no-print-directory", "deploy-lambda", f"BIN={Path(sys.executable).parent}"],
        cwd=REPO_ROOT,
        env=_env_without_credentials(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "cdk" not in result.stdout  # stopped before npm, the model and the CDK CLI
    (message,) = (line for line in result.stderr.splitlines() if "AWS credentials" in line)
    assert message.startswith("No usable AWS credentials") and "AWS_PROFILE" in message
    assert "Traceback" not in result.stderr
