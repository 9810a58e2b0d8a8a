"""The capacity in service on AWS during the traffic step, and what each platform said about it.

ecs     the service's ``runningCount`` (``describe_services``), read every few seconds while Locust
        runs, and the service's events in the step's window ("has started 1 tasks", "steady state");
ec2     the Auto Scaling group's instances ``InService`` (``describe_auto_scaling_groups``), read the
        same way, and its scaling activities (``describe_scaling_activities``) in the window;
lambda  ``ConcurrentExecutions`` for the function (CloudWatch ``get_metric_statistics``, the
        Maximum per 60 s: the metric's granularity is 1 minute, and Maximum is the statistic the
        Lambda guide's "Monitoring concurrency" page says to view it with; read 2026-12-04), read
        after the run, once the metric has reached the run's last minute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from loadtests.aws.polling import read_until
from loadtests.capacity import CapacityReader

READ_EVERY_SECONDS = 5.0  # ECS and Auto Scaling describe calls: a few a minute is plenty
LAMBDA_UNIT = "Lambda environments"
LAMBDA_SOURCE = "CloudWatch AWS/Lambda ConcurrentExecutions, Maximum per minute"
Point = tuple[float, int]


def ecs_running_tasks(ecs: Any, cluster: str, service: str) -> int:
    return int(ecs.describe_services(cluster=cluster, services=[service])["services"][0]["runningCount"])


def asg_in_service(autoscaling: Any, group: str) -> int:
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    return sum(1 for instance in groups[0]["Instances"] if instance["LifecycleState"] == "InService")


def ecs_reader(ecs: Any, cluster: str, service: str) -> CapacityReader:
    source = "ECS describe_services: runningCount"
    return CapacityReader(
        "ECS tasks", source, lambda: ecs_running_tasks(ecs, cluster, service), READ_EVERY_SECONDS
    )


def asg_reader(autoscaling: Any, group: str) -> CapacityReader:
    source = "Auto Scaling describe_auto_scaling_groups: instances InService"
    return CapacityReader(
        "EC2 instances", source, lambda: asg_in_service(autoscaling, group), READ_EVERY_SECONDS
    )


def _in_window(moment: datetime, start: float, end: float) -> bool:
    return start <= moment.timestamp() <= end


def ecs_service_events(
    ecs: Any, cluster: str, service: str, start: float, end: float
) -> list[dict[str, str]]:
    """The service's events between ``start`` and ``end`` (epoch seconds), oldest first."""
    events = ecs.describe_services(cluster=cluster, services=[service])["services"][0].get("events", [])
    return [
        {"at": event["createdAt"].isoformat(), "message": event["message"]}
        for event in sorted(events, key=lambda e: e["createdAt"])
        if _in_window(event["createdAt"], start, end)
    ]


def asg_activities(autoscaling: Any, group: str, start: float, end: float) -> list[dict[str, str]]:
    """The group's scaling activities that started between ``start`` and ``end``, oldest first.
    The API lists the newest first, so paging stops at the first one older than ``start``."""
    found: list[dict[str, str]] = []
    pages = autoscaling.get_paginator("describe_scaling_activities").paginate(AutoScalingGroupName=group)
    for page in pages:
        for activity in page["Activities"]:
            if activity["StartTime"].timestamp() < start:
                return sorted(found, key=lambda a: a["at"])
            if _in_window(activity["StartTime"], start, end):
                message = f"{activity['Description']} ({activity['StatusCode']})"
                found.append({"at": activity["StartTime"].isoformat(), "message": message})
    return sorted(found, key=lambda a: a["at"])


def lambda_concurrency(cloudwatch: Any, function_name: str, start: float, end: float) -> list[Point]:
    """ConcurrentExecutions' maximum per minute over [start, end], as (epoch seconds, count)."""
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="ConcurrentExecutions",
        Dimensions=[{"Name": "FunctionName", "Value": function_name}],
        StartTime=datetime.fromtimestamp(math.floor(start / 60) * 60, UTC),
        EndTime=datetime.fromtimestamp(math.ceil(end / 60) * 60, UTC),
        Period=60,
        Statistics=["Maximum"],
    )
    return sorted((p["Timestamp"].timestamp(), int(p["Maximum"])) for p in answer["Datapoints"])


def wait_for_lambda_concurrency(
    cloudwatch: Any,
    function_name: str,
    start: float,
    end: float,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 15.0,
) -> list[Point]:
    """``lambda_concurrency``, read again until a datapoint covers the run's last minute (metrics
    reach CloudWatch a minute or two late) or ``wait_seconds`` have passed."""
    last_minute = math.ceil(end / 60) * 60 - 60  # the start of the minute the run ended in
    return read_until(
        lambda: lambda_concurrency(cloudwatch, function_name, start, end),
        lambda points: bool(points) and points[-1][0] >= last_minute,
        wait_seconds,
        interval,
        sleep,
    )
