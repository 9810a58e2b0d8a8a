"""The app as a container: the Dockerfile's `ecs` target, a Fargate service behind an ALB.

The image runs `python -m serving` (uvicorn) on APP_PORT; the ALB forwards port 80 (with a certificate,
443, and 80 redirects) to the tasks and sends traffic only to tasks whose /ready answers 200 (the model
is loaded at import, so /ready means "can predict"). A deployment whose tasks never turn healthy rolls
back; CPU load scales the task count.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.common import app_image, names, sizing
from infra.common.context import Settings
from infra.common.load_balanced import LoadBalancedNetwork
from infra.common.nag import acknowledge
from serving.config import workers_for


class EcsStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        description = "One Model, Three Ways: the app as a Fargate service behind an ALB"
        super().__init__(scope, construct_id, description=description, **kwargs)

        # Network and load balancer: public subnets, no NAT, an ALB for the allowed CIDR whose target
        # group checks /ready (infra/common/load_balanced.py, shared with the EC2 stack).
        web = LoadBalancedNetwork(
            self, "Web", allowed_ingress_cidr=settings.allowed_ingress_cidr, https=settings.https
        )

        # Cluster: Fargate only, so there are no instances to manage.
        cluster = ecs.Cluster(self, "Cluster", vpc=web.vpc)
        acknowledge(
            cluster,
            "AwsSolutions-ECS4",
            "Container Insights off: it bills custom metrics per task; the load tests measure latency "
            "themselves and the service's CPU/memory metrics are free without it.",
        )

        # Logs: the stack's own group, with an explicit retention; `cdk destroy` removes it.
        log_group = logs.LogGroup(
            self, "AppLogs", retention=logs.RetentionDays.ONE_WEEK, removal_policy=cdk.RemovalPolicy.DESTROY
        )

        # Task definition: the task's size, and the CPU it runs on (the image is built for the same one).
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=sizing.FARGATE_CPU_UNITS,
            memory_limit_mib=sizing.FARGATE_MEMORY_MIB,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=settings.ecs_cpu_architecture,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        acknowledge(
            task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "The execution role's ecr:GetAuthorizationToken has no resource-level permissions in IAM; "
            "the image pull actions themselves are scoped to the CDK container-asset repository.",
        )

        # The container: the image, its port, its logs, its health check, and a read-only root.
        health = app_image.image_health_check()
        container = task_definition.add_container(
            "app",
            image=ecs.ContainerImage.from_asset(
                app_image.BUILD_CONTEXT,
                target="ecs",
                platform=settings.image_platform,
                exclude=app_image.NOT_IN_BUILD_CONTEXT,
            ),
            port_mappings=[ecs.PortMapping(container_port=sizing.APP_PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=log_group),
            # ECS ignores the image's HEALTHCHECK unless the task declares one: the Dockerfile's own,
            # so a task whose /ready stops answering is replaced as under `docker run`.
            health_check=ecs.HealthCheck(
                command=["CMD", *health.command],
                interval=cdk.Duration.seconds(health.interval),
                timeout=cdk.Duration.seconds(health.timeout),
                start_period=cdk.Duration.seconds(health.start_period),
                retries=health.retries,
            ),
            # One uvicorn worker per vCPU of the task, stated here: inside a Fargate task the app sees
            # the host's CPUs, not the task's share, so it cannot count them itself.
            environment={"APP_WORKERS": str(workers_for(sizing.FARGATE_VCPUS))},
            # Nothing in the app writes to disk; a read-only root makes that a guarantee. /tmp is an
            # ephemeral task volume (below) for any library that calls tempfile. Fargate creates that
            # volume root-owned 0755 unless the image declares it: the Dockerfile's ecs stage declares
            # `VOLUME /tmp`, so ECS fills the volume from the image's /tmp (root, 1777), as AWS's
            # bind-mount guide describes (tests/infra/test_images.py checks both cases).
            readonly_root_filesystem=True,
            # On a stop, ECS sends SIGTERM and kills after this; the server's graceful shutdown
            # (serving.config.Settings.graceful_shutdown_seconds) must end before (a test checks).
            stop_timeout=cdk.Duration.seconds(sizing.ECS_STOP_TIMEOUT_SECONDS),
        )
        acknowledge(
            task_definition,
            "AwsSolutions-ECS2",
            "The one environment variable is APP_WORKERS, a worker count derived from the task size, "
            "not a secret or a setting that changes between deployments.",
        )
        task_definition.add_volume(name="tmp")
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )

        # The service: tasks in the public subnets with a public IP (to pull from ECR and write logs
        # without a NAT gateway); their security group admits only the ALB (added with the target below).
        service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task_definition,
            # No desired count: auto scaling (below) owns it. CloudFormation starts a new service at 1
            # and leaves a running one's count alone, so an update does not undo a scale-out.
            assign_public_ip=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            # A deployment whose tasks never turn healthy stops and rolls back instead of looping.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=cdk.Duration.seconds(60),
        )
        # The ALB's targets: the service's tasks, by IP, on the container's port.
        web.target_group.add_target(service)

        # Scaling: target tracking on CPU, the same target as the EC2 Auto Scaling group.
        scaling = service.auto_scale_task_count(
            min_capacity=sizing.FARGATE_MIN_TASKS, max_capacity=sizing.FARGATE_MAX_TASKS
        )
        scaling.scale_on_cpu_utilization(
            "CpuTarget",
            target_utilization_percent=sizing.TARGET_CPU_PERCENT,
            scale_out_cooldown=cdk.Duration.seconds(60),
            scale_in_cooldown=cdk.Duration.seconds(120),
        )

        # Outputs: what the load tests read (infra/common/names.py OUTPUTS_BY_WAY["ecs"]).
        cdk.CfnOutput(self, names.OUTPUT_ENDPOINT_URL, value=web.url)
        cdk.CfnOutput(self, names.OUTPUT_WAY, value="ecs")
        if web.https:  # the host name EndpointUrl serves, and the ALB name the user's DNS points it at
            cdk.CfnOutput(self, names.OUTPUT_DOMAIN_NAME, value=web.https.domain_name)
            cdk.CfnOutput(
                self, names.OUTPUT_LOAD_BALANCER_DNS_NAME, value=web.load_balancer.load_balancer_dns_name
            )
        cdk.CfnOutput(self, names.OUTPUT_ARCHITECTURE, value=settings.architecture)
        cdk.CfnOutput(self, names.OUTPUT_LOG_GROUP_NAME, value=log_group.log_group_name)
        cdk.CfnOutput(self, names.OUTPUT_CLUSTER_NAME, value=cluster.cluster_name)
        cdk.CfnOutput(self, names.OUTPUT_SERVICE_NAME, value=service.service_name)
