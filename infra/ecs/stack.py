"""The app as a container: the Dockerfile's `ecs` target on Fargate behind an ALB.

The image runs uvicorn on port 8000; the ALB forwards port 80 to it and only sends traffic to tasks
whose /ready answers 200 (the model is loaded at import, so /ready means "can predict").
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.common import names, shared, sizing


class EcsStack(cdk.Stack):
    def __init__(self, scope: Construct, settings: shared.Settings) -> None:
        super().__init__(
            scope,
            names.STACK_NAMES["ecs"],
            **shared.stack_props("ecs", "the app as a Fargate service behind an Application Load Balancer"),
        )

        # Network: public subnets, no NAT (see shared.public_vpc for the trade-off).
        vpc = shared.public_vpc(self)
        alb = shared.public_alb(self, vpc, settings)

        cluster = ecs.Cluster(self, "Cluster", vpc=vpc)
        shared.acknowledge(
            cluster,
            "AwsSolutions-ECS4",
            "Container Insights off: it bills custom metrics per task; the load tests measure latency "
            "themselves and the service's CPU/memory metrics are free without it.",
        )

        # Task definition, written out rather than left to the pattern so every setting is visible.
        # The runtime platform must match the image platform; both come from the `architecture` context.
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=sizing.FARGATE_CPU_UNITS,
            memory_limit_mib=sizing.FARGATE_MEMORY_MIB,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=shared.ecs_cpu_architecture(settings),
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        log_group = logs.LogGroup(
            self, "AppLogs", retention=shared.LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        container = task_definition.add_container(
            "app",
            image=ecs.ContainerImage.from_asset(**shared.image_asset_options(settings, "ecs")),
            port_mappings=[ecs.PortMapping(container_port=sizing.APP_PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="app", log_group=log_group),
            # One uvicorn worker per whole vCPU of the task (at least one); the image reads this.
            environment={"WEB_CONCURRENCY": str(max(1, sizing.FARGATE_CPU_UNITS // 1024))},
            # Nothing in the app writes to disk; a read-only root makes that a guarantee. /tmp is an
            # ephemeral task volume (below) for any library that calls tempfile. On its own, Fargate
            # creates that volume root-owned 0755, which the app (uid 10001) cannot write; because
            # the Dockerfile's ecs stage declares `VOLUME /tmp`, ECS copies the image's /tmp into it
            # instead, with its owner and mode (root, 1777), as AWS's bind-mount guide describes
            # (tests/infra/test_images.py checks both cases on a fresh volume).
            readonly_root_filesystem=True,
            # On a stop, ECS sends SIGTERM and kills after this; the server's graceful shutdown
            # (serving.config.Settings.graceful_shutdown_seconds) must end before (a test checks).
            stop_timeout=cdk.Duration.seconds(sizing.ECS_STOP_TIMEOUT_SECONDS),
        )
        shared.acknowledge(
            task_definition,
            "AwsSolutions-ECS2",
            "The one environment variable is WEB_CONCURRENCY, a worker count derived from the task size, "
            "not a secret or a setting that changes between deployments.",
        )
        task_definition.add_volume(name="tmp")
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )

        # The service: the pattern wires listener -> target group -> tasks and the security groups
        # (tasks admit only the ALB). open_listener=False: the ALB's own group already limits ingress.
        service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task_definition,
            load_balancer=alb,
            open_listener=False,
            desired_count=sizing.FARGATE_MIN_TASKS,
            # Public IP instead of a NAT gateway, so the task can pull from ECR and write logs.
            assign_public_ip=True,
            task_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            # A deployment whose tasks never turn healthy stops and rolls back instead of looping.
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=cdk.Duration.seconds(60),
        )
        # The pattern adds two outputs of its own; EndpointUrl below is the one the contract names.
        for pattern_output in ("LoadBalancerDNS", "ServiceURL"):
            service.node.try_remove_child(pattern_output)
        shared.acknowledge(
            task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "The execution role's ecr:GetAuthorizationToken has no resource-level permissions in IAM; "
            "the image pull actions themselves are scoped to the CDK container-asset repository.",
        )

        # Health check on /ready, and a short deregistration delay: requests take milliseconds.
        service.target_group.configure_health_check(
            path=sizing.READY_PATH,
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(sizing.ALB_HEALTH_CHECK_INTERVAL_SECONDS),
            healthy_threshold_count=sizing.ALB_HEALTHY_THRESHOLD_COUNT,
        )
        service.target_group.set_attribute("deregistration_delay.timeout_seconds", "10")

        # Target tracking on CPU: the same target as the EC2 Auto Scaling group.
        scaling = service.service.auto_scale_task_count(
            min_capacity=sizing.FARGATE_MIN_TASKS, max_capacity=sizing.FARGATE_MAX_TASKS
        )
        scaling.scale_on_cpu_utilization(
            "CpuTarget",
            target_utilization_percent=sizing.TARGET_CPU_PERCENT,
            scale_out_cooldown=cdk.Duration.seconds(60),
            scale_in_cooldown=cdk.Duration.seconds(120),
        )

        shared.add_outputs(
            self,
            "ecs",
            {
                names.OUTPUT_ENDPOINT_URL: shared.http_endpoint(alb),
                names.OUTPUT_WAY: "ecs",
                names.OUTPUT_ARCHITECTURE: settings.architecture,
                names.OUTPUT_LOG_GROUP_NAME: log_group.log_group_name,
                names.OUTPUT_CLUSTER_NAME: cluster.cluster_name,
                names.OUTPUT_SERVICE_NAME: service.service.service_name,
            },
        )
