"""make compare checks the account first: the function's reserved concurrency, else the account's
unreserved concurrency (GetFunctionConcurrency, GetAccountSettings, through botocore's Stubber with
fake credentials), caps the Lambda runs' users at it and says why, or stops in one line when the
function may run nothing."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from loadtests.aws.preflight import NoLambdaConcurrency, cap_lambda_load
from loadtests.locust_run import LoadSettings

SETTINGS = LoadSettings(steady_users=20, burst_users=10)


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def stubbed(reserved: int | None, unreserved: int | None = None, total: int = 1000) -> tuple[Any, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    concurrency = {} if reserved is None else {"ReservedConcurrentExecutions": reserved}
    stubber.add_response("get_function_concurrency", concurrency, {"FunctionName": "fn"})
    if reserved is None:
        limit = {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}
        stubber.add_response("get_account_settings", {"AccountLimit": limit}, {})
    stubber.activate()
    return client, stubber


def test_a_new_account_s_low_concurrency_caps_the_lambda_users_and_says_so() -> None:
    client, stubber = stubbed(reserved=None, unreserved=10, total=10)

    settings, message = cap_lambda_load(client, "fn", SETTINGS)

    stubber.assert_no_pending_responses()
    assert (settings.steady_users, settings.burst_users) == (10, 10)
    assert settings.hold_seconds == SETTINGS.hold_seconds  # only the users change
    assert message is not None and "\n" not in message
    assert "the account's unreserved concurrency (10 of 10)" in message and "20 steady / 10 burst" in message


def test_the_function_s_reserved_concurrency_is_the_limit_when_it_has_one() -> None:
    client, stubber = stubbed(reserved=5)

    settings, message = cap_lambda_load(client, "fn", SETTINGS)

    stubber.assert_no_pending_responses()  # GetAccountSettings was not needed
    assert (settings.steady_users, settings.burst_users) == (5, 5)
    assert message is not None and "the function's reserved concurrency (5)" in message


def test_a_load_that_fits_runs_unchanged_and_silent() -> None:
    client, _ = stubbed(reserved=None, unreserved=900)
    assert cap_lambda_load(client, "fn", SETTINGS) == (SETTINGS, None)


def test_a_function_that_may_run_nothing_stops_the_run_in_one_line() -> None:
    client, _ = stubbed(reserved=0)
    with pytest.raises(NoLambdaConcurrency) as stopped:
        cap_lambda_load(client, "fn", SETTINGS)
    assert "\n" not in str(stopped.value) and "429" in str(stopped.value)
