"""The pre-checks behind `make bootstrap/deploy-*/destroy-*`: credentials and a region (moto stands in
for STS), the Lambda reservation against the account's concurrency (botocore's Stubber for
lambda:GetAccountSettings, which moto does not implement), the closed-ingress warning, and the
Makefile wiring (a stand-in AWS endpoint on 127.0.0.1, reached through AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra.common import credentials, preflight
from infra.common.names import STACK_NAMES
from infra.common.paths import REPO_ROOT

REGION = "us-east-1"


def _env_without_credentials(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def _env_with_fake_credentials(tmp_path: Path) -> dict[str, str]:
    return {
        **_env_without_credentials(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in _env_without_credentials(tmp_path).items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)


@pytest.fixture
def fake_credentials(no_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


# ---------------------------------------------------------------- credentials and region
@pytest.mark.usefixtures("fake_credentials")
def test_working_credentials_pass_and_name_the_account_and_region(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert credentials.main([]) == 0
    assert capsys.readouterr().out.strip() == f"AWS account 123456789012 in {REGION}"


@pytest.mark.usefixtures("no_credentials")
def test_missing_credentials_fail_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert credentials.main([]) == credentials.EXIT_NO_CREDENTIALS
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "No usable AWS credentials" in captured.err


@pytest.mark.usefixtures("fake_credentials")
def test_credentials_without_a_region_fail_with_one_line_naming_aws_region(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with mock_aws():  # would answer STS: the check must stop before asking
        assert credentials.main([]) == credentials.EXIT_NO_REGION
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("No AWS region: set AWS_REGION")


@pytest.mark.usefixtures("fake_credentials")
def test_aws_region_counts_as_a_region_as_it_does_for_the_cdk_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # boto3 alone would not read it
    with mock_aws():
        assert credentials.main([]) == 0
    assert capsys.readouterr().out.strip() == "AWS account 123456789012 in eu-west-1"


@pytest.mark.usefixtures("no_credentials")
def test_quiet_mode_only_sets_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert credentials.main(["--quiet"]) == credentials.EXIT_NO_CREDENTIALS
    assert capsys.readouterr() == ("", "")


def test_make_deploy_stops_before_cdk_without_credentials(tmp_path: Path) -> None:
    """`make deploy-lambda` with no credentials: one clear line, non-zero, and no synth or deploy."""
    result = run_make("deploy-lambda", env=_env_without_credentials(tmp_path))
    assert result.returncode != 0
    assert "cdk" not in result.stdout  # stopped before npm, the model and the CDK CLI
    (message,) = (line for line in result.stderr.splitlines() if "AWS credentials" in line)
    assert message.startswith("No usable AWS credentials") and "AWS_PROFILE" in message
    assert "Traceback" not in result.stderr


def test_make_deploy_stops_before_cdk_without_a_region(tmp_path: Path) -> None:
    env = _env_with_fake_credentials(tmp_path)
    del env["AWS_DEFAULT_REGION"]
    result = run_make("deploy-ecs", env=env)
    assert result.returncode != 0 and "cdk" not in result.stdout
    assert [line for line in result.stderr.splitlines() if not line.startswith("make")] == [
        credentials.NO_REGION
    ]


# ---------------------------------------------------------------- the Lambda reservation
def stubbed_clients(
    total: int, unreserved: int, deployed_reservation: int | None = None
) -> tuple[Stubber, Stubber, object, object]:
    lambda_client = boto3.client("lambda", region_name=REGION)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    lambda_stub, cfn_stub = Stubber(lambda_client), Stubber(cloudformation)
    lambda_stub.add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}},
        {},
    )
    if deployed_reservation is None:
        cfn_stub.add_client_error(
            "describe_stacks",
            "ValidationError",
            f"Stack with id {STACK_NAMES['lambda']} does not exist",
            expected_params={"StackName": STACK_NAMES["lambda"]},
        )
    else:
        stack = {
            "StackName": STACK_NAMES["lambda"],
            "CreationTime": "2026-01-01T00:00:00Z",
            "StackStatus": "UPDATE_COMPLETE",
            "Outputs": [{"OutputKey": "FunctionName", "OutputValue": "one-model-fn"}],
        }
        cfn_stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": STACK_NAMES["lambda"]})
        lambda_stub.add_response(
            "get_function_concurrency",
            {"ReservedConcurrentExecutions": deployed_reservation},
            {"FunctionName": "one-model-fn"},
        )
    return lambda_stub, cfn_stub, lambda_client, cloudformation


@pytest.mark.usefixtures("fake_credentials")
def test_a_reservation_that_fits_the_account_passes() -> None:
    lambda_stub, cfn_stub, lambda_client, cloudformation = stubbed_clients(total=1000, unreserved=1000)
    with lambda_stub, cfn_stub:
        line = preflight.check_lambda_reservation(lambda_client, cloudformation, "10")
    lambda_stub.assert_no_pending_responses()
    assert line == "Lambda: reserving 10 of the 900 reservable executions."


@pytest.mark.usefixtures("fake_credentials")
def test_a_reservation_a_new_account_cannot_give_stops_with_one_line() -> None:
    """A new account with a total of 10: any reservation would leave fewer than 100 unreserved."""
    lambda_stub, cfn_stub, lambda_client, cloudformation = stubbed_clients(total=10, unreserved=10)
    with lambda_stub, cfn_stub, pytest.raises(preflight.PreflightFailed) as failed:
        preflight.check_lambda_reservation(lambda_client, cloudformation, "10")
    message = str(failed.value)
    assert "\n" not in message
    assert "concurrency is 10 (10 unreserved)" in message and "at most 0 can be reserved" in message
    assert "LAMBDA_RESERVED_CONCURRENCY=none" in message


@pytest.mark.usefixtures("fake_credentials")
def test_a_redeploy_may_reuse_what_the_deployed_function_already_reserves() -> None:
    """110 in total, 100 unreserved because this very function holds 10: redeploying with 10 fits."""
    lambda_stub, cfn_stub, lambda_client, cloudformation = stubbed_clients(110, 100, deployed_reservation=10)
    with lambda_stub, cfn_stub:
        line = preflight.check_lambda_reservation(lambda_client, cloudformation, "10")
    assert line == "Lambda: reserving 10 of the 10 reservable executions."
    lambda_stub.assert_no_pending_responses()
    cfn_stub.assert_no_pending_responses()


@pytest.mark.usefixtures("fake_credentials")
def test_no_reservation_asks_the_account_nothing() -> None:
    lambda_client = boto3.client("lambda", region_name=REGION)
    with Stubber(lambda_client):  # any call would raise: no responses are queued
        line = preflight.check_lambda_reservation(lambda_client, object(), "none")
    assert "no reserved concurrency" in line


def test_an_empty_value_means_the_cdk_app_s_default_and_bad_values_are_refused() -> None:
    default = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["lambdaReservedConcurrency"]
    expected = None if default.lower() == "none" else int(default)
    assert preflight.requested_reservation("") == preflight.requested_reservation(None) == expected
    assert preflight.requested_reservation("7") == 7
    for bad in ("0", "-1", "ten"):
        with pytest.raises(preflight.PreflightFailed, match="positive integer or 'none'"):
            preflight.requested_reservation(bad)


class StandInAws(BaseHTTPRequestHandler):
    """STS, CloudFormation and Lambda as a new account answers them: total concurrency 10."""

    def do_POST(self) -> None:  # the query protocol: STS and CloudFormation
        form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
        action = form["Action"][0]
        if action == "GetCallerIdentity":
            self.answer(200, "text/xml", (
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AIDA</UserId>"
                "<Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
            ))  # fmt: skip
        else:
            self.answer(400, "text/xml", (
                '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error>'
                "<Type>Sender</Type><Code>ValidationError</Code>"
                f"<Message>Stack with id {STACK_NAMES['lambda']} does not exist</Message>"
                "</Error></ErrorResponse>"
            ))  # fmt: skip

    def do_GET(self) -> None:  # Lambda's REST API
        assert self.path.startswith("/2016-08-19/account-settings")
        limits = {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}
        self.answer(200, "application/json", json.dumps({"AccountLimit": limits}))

    def answer(self, status: int, content_type: str, body: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def stand_in_aws() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInAws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_make_deploy_lambda_stops_before_cdk_when_the_reservation_cannot_fit(
    tmp_path: Path, stand_in_aws: str
) -> None:
    env = {**_env_with_fake_credentials(tmp_path), "AWS_ENDPOINT_URL": stand_in_aws}
    result = run_make("deploy-lambda", "LAMBDA_RESERVED_CONCURRENCY=10", env=env)
    assert result.returncode != 0
    assert "cdk" not in result.stdout and "Traceback" not in result.stderr
    (message,) = (line for line in result.stderr.splitlines() if not line.startswith("make"))
    assert message.startswith("Lambda reserved concurrency 10 cannot fit this account")


# ---------------------------------------------------------------- the ALBs' ingress
def test_a_closed_allowed_cidr_gets_a_warning_and_an_open_one_none() -> None:
    for closed in ("127.0.0.1/32", "", None):
        warning = preflight.ingress_warning(closed)
        assert warning is not None and "ALLOWED_CIDR" in warning and "admit nobody" in warning
    assert preflight.ingress_warning("203.0.113.7/32") is None


@pytest.mark.usefixtures("fake_credentials")
def test_deploy_ec2_s_check_warns_but_goes_on_when_ingress_is_closed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():
        assert credentials.main(["--allowed-cidr", ""]) == 0
    (warning,) = capsys.readouterr().err.splitlines()
    assert warning.startswith("Warning: ALLOWED_CIDR is 127.0.0.1/32, closed")


@pytest.mark.parametrize("cidr", ["2001:db8::/64", "::/0"])
@pytest.mark.usefixtures("fake_credentials")
def test_an_ipv6_allowed_cidr_stops_the_deploy_with_one_line(
    capsys: pytest.CaptureFixture[str], cidr: str
) -> None:
    with mock_aws():
        assert credentials.main(["--allowed-cidr", cidr]) == credentials.EXIT_WILL_NOT_FIT
    (message,) = capsys.readouterr().err.splitlines()
    assert "IPv6" in message and "IPv4-only" in message and "ALLOWED_CIDR=<address>/32" in message


# ---------------------------------------------------------------- ECS's service-linked role
@pytest.mark.usefixtures("fake_credentials")
def test_an_ecs_deploy_creates_the_service_linked_role_a_new_account_lacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():
        assert credentials.main(["--ecs-service-linked-role"]) == 0
        # (moto names the role after the service's lower-case prefix; IAM names it AWSServiceRoleForECS)
        roles = boto3.client("iam").list_roles(PathPrefix=f"/aws-service-role/{preflight.ECS_SERVICE}/")
    assert len(roles["Roles"]) == 1
    assert "created the service-linked role" in capsys.readouterr().err


def test_a_service_linked_role_that_exists_already_is_fine() -> None:
    # IAM's answer to a second creation, as AWS returns it (moto answers EntityAlreadyExists instead).
    iam = boto3.client("iam", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    taken = (
        "Service role name AWSServiceRoleForECS has been taken in this account, "
        "please try a different suffix."
    )
    with Stubber(iam) as stub:
        stub.add_client_error(
            "create_service_linked_role",
            service_error_code="InvalidInput",
            service_message=taken,
            http_status_code=400,
            expected_params={"AWSServiceName": "ecs.amazonaws.com"},
        )
        assert (
            preflight.ensure_ecs_service_linked_role(iam)
            == "ECS: the service-linked role AWSServiceRoleForECS exists."
        )
        stub.assert_no_pending_responses()


def test_a_refused_service_linked_role_stops_with_one_line_naming_the_fix() -> None:
    iam = boto3.client("iam", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(iam) as stub:
        stub.add_client_error(
            "create_service_linked_role", service_error_code="AccessDenied", http_status_code=403
        )
        with pytest.raises(preflight.PreflightFailed) as failed:
            preflight.ensure_ecs_service_linked_role(iam)
    assert len(str(failed.value).splitlines()) == 1
    assert "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com" in str(failed.value)


def run_make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"BIN={Path(sys.executable).parent}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- provisioned concurrency
PROVISIONED_FLAGS = ["--lambda-cold-start", "--lambda-provisioned-concurrency"]


def provisioned_clients(
    total: int, unreserved: int, deployed: int | None
) -> tuple[Stubber, Stubber, Any, Any]:
    """The account's limits, and this stack's function provisioning ``deployed`` (None: no stack yet)."""
    lambda_client = boto3.client("lambda", region_name=REGION)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    lambda_stub, cfn_stub = Stubber(lambda_client), Stubber(cloudformation)
    limits = {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}
    lambda_stub.add_response("get_account_settings", {"AccountLimit": limits}, {})
    stack_name = {"StackName": STACK_NAMES["lambda"]}
    if deployed is None:
        cfn_stub.add_client_error(
            "describe_stacks", "ValidationError", "does not exist", expected_params=stack_name
        )
    else:
        outputs = [{"OutputKey": "FunctionName", "OutputValue": "one-model-fn"}]
        stack = {**stack_name, "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE"}
        cfn_stub.add_response("describe_stacks", {"Stacks": [{**stack, "Outputs": outputs}]}, stack_name)
        configs = [{"RequestedProvisionedConcurrentExecutions": deployed, "Status": "READY"}]
        lambda_stub.add_response(
            "list_provisioned_concurrency_configs",
            {"ProvisionedConcurrencyConfigs": configs},
            {"FunctionName": "one-model-fn"},
        )
    return lambda_stub, cfn_stub, lambda_client, cloudformation


@pytest.mark.usefixtures("fake_credentials")
def test_provisioned_concurrency_that_fits_the_account_passes() -> None:
    lambda_stub, cfn_stub, lambda_client, cloudformation = provisioned_clients(1000, 1000, None)
    with lambda_stub, cfn_stub:
        line = preflight.check_lambda_provisioned(lambda_client, cloudformation, "provisioned", "2", "none")
    lambda_stub.assert_no_pending_responses()
    assert line == "Lambda: provisioning 2 of the 900 available executions (billed hourly)."


@pytest.mark.usefixtures("fake_credentials")
def test_provisioned_concurrency_a_new_account_cannot_give_stops_with_one_line() -> None:
    lambda_stub, cfn_stub, lambda_client, cloudformation = provisioned_clients(10, 10, None)
    with lambda_stub, cfn_stub, pytest.raises(preflight.PreflightFailed) as failed:
        preflight.check_lambda_provisioned(lambda_client, cloudformation, "provisioned", "1", "")
    message = str(failed.value)
    assert "\n" not in message
    assert "concurrency is 10 (10 unreserved)" in message and "at most 0 can be provisioned" in message
    assert "LAMBDA_COLD_START=snapstart" in message


@pytest.mark.usefixtures("fake_credentials")
def test_a_redeploy_may_reuse_what_the_deployed_alias_already_provisions() -> None:
    """105 in total, 100 unreserved because this function provisions 5: redeploying with 5 fits."""
    lambda_stub, cfn_stub, lambda_client, cloudformation = provisioned_clients(105, 100, deployed=5)
    with lambda_stub, cfn_stub:
        line = preflight.check_lambda_provisioned(lambda_client, cloudformation, "provisioned", "5", "none")
    assert line == "Lambda: provisioning 5 of the 5 available executions (billed hourly)."
    lambda_stub.assert_no_pending_responses()
    cfn_stub.assert_no_pending_responses()


def test_provisioned_concurrency_must_fit_inside_the_function_s_own_reservation() -> None:
    # Checked against the reservation alone (check_lambda_reservation checks that against the account).
    with pytest.raises(preflight.PreflightFailed, match="exceeds the function's reserved concurrency 2"):
        preflight.check_lambda_provisioned(object(), object(), "provisioned", "3", "2")
    line = preflight.check_lambda_provisioned(object(), object(), "provisioned", "2", "2")
    assert line == "Lambda: provisioning 2 of the function's 2 reserved executions."


@pytest.mark.parametrize("mode", ["on-demand", "snapstart", "", None])
def test_the_other_modes_provision_nothing_and_ask_the_account_nothing(mode: str | None) -> None:
    # cdk.json's default mode (empty or None) is on-demand.
    assert preflight.check_lambda_provisioned(object(), object(), mode, "5", "none") == (
        "Lambda: no provisioned concurrency requested."
    )


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_a_bad_provisioned_concurrency_is_refused(bad: str) -> None:
    with pytest.raises(preflight.PreflightFailed, match="positive integer"):
        preflight.requested_provisioned("provisioned", bad)


@pytest.mark.parametrize(
    ("target", "checks"),
    [
        ("deploy-lambda", ["--lambda-reserved-concurrency", *PROVISIONED_FLAGS]),
        ("deploy-ec2", ["--allowed-cidr"]),
        ("deploy-ecs", ["--allowed-cidr", "--ecs-service-linked-role"]),
        (
            "deploy-all",
            [
                "--lambda-reserved-concurrency",
                *PROVISIONED_FLAGS,
                "--allowed-cidr",
                "--ecs-service-linked-role",
            ],
        ),
        ("destroy-lambda", []),
        ("refresh-ami", []),
        ("gc", []),
    ],
)
def test_each_deploy_target_s_preflight_checks_what_it_deploys(target: str, checks: list[str]) -> None:
    """`make -n`: the first command of each target is the preflight, with the checks its stacks need."""
    result = run_make("-n", target, "ALLOWED_CIDR=203.0.113.7/32", env=dict(os.environ))
    first = result.stdout.splitlines()[0].split()
    assert first[1:3] == ["-m", "infra.common.credentials"]
    assert [word for word in first if word.startswith("--")] == checks
    if "--allowed-cidr" in checks:
        assert first[first.index("--allowed-cidr") + 1] == '"203.0.113.7/32"'


# ---------------------------------------------------------------- the ALB certificate (ACM, moto)
def _imported_certificate(acm: object, tmp_path: Path, host: str) -> str:
    """An ISSUED certificate in moto's ACM: imported ones are issued at once (a self-signed one for
    ``host``, made with openssl as the local TLS runs make theirs)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    answer = acm.import_certificate(Certificate=cert.read_bytes(), PrivateKey=key.read_bytes())  # type: ignore[attr-defined]
    return str(answer["CertificateArn"])


@pytest.mark.usefixtures("fake_credentials")
def test_an_issued_certificate_in_the_stack_s_region_that_covers_the_host_passes(tmp_path: Path) -> None:
    with mock_aws():
        acm = boto3.client("acm", region_name=REGION)
        arn = _imported_certificate(acm, tmp_path, "predict.example.com")
        line = preflight.check_certificate(acm, arn, "predict.example.com", REGION)
    assert line == f"HTTPS: certificate for predict.example.com is ISSUED in {REGION}."


@pytest.mark.usefixtures("fake_credentials")
def test_a_certificate_still_pending_validation_stops_with_one_line() -> None:
    with mock_aws():
        acm = boto3.client("acm", region_name=REGION)
        arn = acm.request_certificate(DomainName="predict.example.com", ValidationMethod="DNS")[
            "CertificateArn"
        ]
        with pytest.raises(preflight.PreflightFailed) as stopped:
            preflight.check_certificate(acm, arn, "predict.example.com", REGION)
    assert "is PENDING_VALIDATION, not ISSUED" in str(stopped.value)
    assert "\n" not in str(stopped.value)


@pytest.mark.usefixtures("fake_credentials")
def test_a_certificate_from_another_region_stops_before_asking_acm() -> None:
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    acm = boto3.client("acm", region_name=REGION)
    stopped = pytest.raises(
        preflight.PreflightFailed, match=f"is in eu-west-1, the stacks deploy to {REGION}"
    )
    with Stubber(acm), stopped:  # no responses queued: any call to ACM would fail the test
        preflight.check_certificate(acm, arn, "predict.example.com", REGION)


@pytest.mark.usefixtures("fake_credentials")
def test_an_unknown_certificate_or_one_for_another_host_stops(tmp_path: Path) -> None:
    with mock_aws():
        acm = boto3.client("acm", region_name=REGION)
        missing = f"arn:aws:acm:{REGION}:123456789012:certificate/00000000-0000-0000-0000-000000000000"
        with pytest.raises(preflight.PreflightFailed, match="does not exist in this account"):
            preflight.check_certificate(acm, missing, "predict.example.com", REGION)
        arn = _imported_certificate(acm, tmp_path, "other.example.com")
        with pytest.raises(
            preflight.PreflightFailed, match=r"does not cover DOMAIN_NAME='predict\.example\.com'"
        ):
            preflight.check_certificate(acm, arn, "predict.example.com", REGION)


def test_a_wildcard_certificate_covers_one_label_only() -> None:
    assert preflight.covers("*.example.com", "predict.example.com")
    assert preflight.covers("Predict.Example.com.", "predict.example.com")
    assert not preflight.covers("*.example.com", "a.predict.example.com")
    assert not preflight.covers("*.example.com", "example.com")


@pytest.mark.usefixtures("fake_credentials")
def test_deploy_ec2_s_check_stops_on_a_pending_certificate_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mock_aws():
        acm = boto3.client("acm", region_name=REGION)
        arn = acm.request_certificate(DomainName="predict.example.com")["CertificateArn"]
        code = credentials.main(
            [
                "--allowed-cidr",
                "203.0.113.7/32",
                "--certificate-arn",
                arn,
                "--domain-name",
                "predict.example.com",
            ]
        )
    assert code == credentials.EXIT_WILL_NOT_FIT
    (line,) = capsys.readouterr().err.splitlines()
    assert "PENDING_VALIDATION" in line


def test_with_a_certificate_the_alb_deploys_check_it_and_pass_it_to_the_cdk() -> None:
    arn = f"arn:aws:acm:{REGION}:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    https = [f"CERTIFICATE_ARN={arn}", "DOMAIN_NAME=predict.example.com"]
    for target in ("deploy-ec2", "deploy-ecs", "deploy-all"):
        result = run_make("-n", target, *https, env=dict(os.environ))
        first = result.stdout.splitlines()[0].split()
        assert first[first.index("--certificate-arn") + 1] == f'"{arn}"'
        assert first[first.index("--domain-name") + 1] == '"predict.example.com"'
        (cdk,) = (line for line in result.stdout.splitlines() if " deploy " in line and "cdk" in line)
        assert f"-c certificateArn={arn}" in cdk and "-c domainName=predict.example.com" in cdk
    lambda_only = run_make("-n", "deploy-lambda", *https, env=dict(os.environ))
    assert "--certificate-arn" not in lambda_only.stdout.splitlines()[0]
