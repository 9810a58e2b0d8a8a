"""Forcing fresh execution environments on AWS, and timing how long the first success takes.

lambda  change an environment variable (a new function configuration retires every warm
        environment), wait for the ``function_updated`` waiter; the cold starts then happen in
        the Locust burst and are recognised by ``x-cold-start: true``.
ecs     scale the service to 0 tasks and wait until stable, then to N and time until the first
        successful /predict through the load balancer.
ec2     scale the Auto Scaling group to 0 instances and wait until empty, then back to its
        minimum (at least 1) and time until the first successful /predict through the load balancer.

An error or Ctrl-C while a service or group stands at 0 puts back the capacity it had (``finally``):
`make compare` never leaves a deployment scaled to nothing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.process import wait_for
from loadtests.payloads import load_holdout
from loadtests.protocols import REST
from loadtests.tls import client_context

COLD_TOKEN_VARIABLE = "LOADTEST_COLD_START_TOKEN"

Probe = Callable[[], bool]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Forced:
    method: str
    seconds_to_first_success: float | None


def predict_succeeds(endpoint_url: str, timeout: float = 10.0) -> Probe:
    """A probe: True when POST {endpoint}/predict with one held-out row answers 200."""
    body = json.dumps(REST.body(load_holdout().rows[:1])).encode()

    def probe() -> bool:
        headers = {"content-type": "application/json"}
        request = urllib.request.Request(f"{endpoint_url}{REST.path}", body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=client_context()) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return probe


def force_lambda_cold(lambda_client: Any, function_name: str, delay: int = 2) -> Forced:
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    variables = dict((config.get("Environment") or {}).get("Variables") or {})
    variables[COLD_TOKEN_VARIABLE] = uuid.uuid4().hex
    lambda_client.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": variables}
    )
    lambda_client.get_waiter("function_updated").wait(
        FunctionName=function_name, WaiterConfig={"Delay": delay, "MaxAttempts": 150}
    )
    return Forced("new function configuration (environment variable changed)", None)


def force_ecs_cold(
    ecs_client: Any,
    cluster: str,
    service: str,
    tasks: int,
    probe: Probe,
    timeout: float = 900.0,
    delay: int = 6,
) -> Forced:
    (current,) = ecs_client.describe_services(cluster=cluster, services=[service])["services"]
    relaunched = False
    ecs_client.update_service(cluster=cluster, service=service, desiredCount=0)
    try:
        ecs_client.get_waiter("services_stable").wait(
            cluster=cluster,
            services=[service],
            WaiterConfig={"Delay": delay, "MaxAttempts": int(timeout / delay)},
        )
        ecs_client.update_service(cluster=cluster, service=service, desiredCount=tasks)
        relaunched = True
    finally:  # an error or Ctrl-C while at 0 tasks: put the service back as it was
        if not relaunched:
            ecs_client.update_service(cluster=cluster, service=service, desiredCount=current["desiredCount"])
    first, _ = wait_for(lambda: probe() or None, "the first successful /predict", timeout, 1.0)
    return Forced(f"ECS service scaled 0 -> {tasks} tasks", first)


def asg_instance_count(autoscaling_client: Any, group_name: str) -> int:
    groups = autoscaling_client.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])
    return len(groups["AutoScalingGroups"][0]["Instances"])


def force_ec2_cold(
    autoscaling_client: Any, group_name: str, probe: Probe, timeout: float = 1200.0, sleep: Sleep = time.sleep
) -> Forced:
    group = autoscaling_client.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])[
        "AutoScalingGroups"
    ][0]
    minimum, desired = group["MinSize"], max(1, group["DesiredCapacity"])
    relaunched = False
    autoscaling_client.update_auto_scaling_group(
        AutoScalingGroupName=group_name, MinSize=0, DesiredCapacity=0
    )
    try:
        emptied = lambda: asg_instance_count(autoscaling_client, group_name) == 0 or None  # noqa: E731
        wait_for(emptied, f"{group_name} at 0 instances", timeout, 5.0, sleep=sleep)
        autoscaling_client.update_auto_scaling_group(
            AutoScalingGroupName=group_name, MinSize=minimum, DesiredCapacity=desired
        )
        relaunched = True
    finally:  # an error or Ctrl-C while empty: put the group's size back as it was
        if not relaunched:
            autoscaling_client.update_auto_scaling_group(
                AutoScalingGroupName=group_name, MinSize=minimum, DesiredCapacity=group["DesiredCapacity"]
            )
    first, _ = wait_for(lambda: probe() or None, "the first successful /predict", timeout, 2.0, sleep=sleep)
    return Forced(f"Auto Scaling group scaled 0 -> {desired} instances", first)
