"""What the EC2 and ECS stacks share: a public network and an Application Load Balancer in front of the app.

    web = LoadBalancedNetwork(self, "Web", allowed_ingress_cidr="203.0.113.7/32")
    web.target_group.add_target(asg_or_fargate_service)   # the ALB reaches it on the app port
    cdk.CfnOutput(self, "EndpointUrl", value=web.url)

The one place the health check is wired: the target group checks READY_PATH, and a target takes
traffic only while it answers 200 (the model loads at import, so /ready means "can predict").

With ``https=Https(certificate_arn, domain_name)`` the ALB serves HTTPS on 443 with that ACM
certificate and answers HTTP on 80 with a redirect only; ``url`` is then ``https://<domain_name>``.
Without it, the endpoint is plain HTTP and synth says so in a warning.
"""

from __future__ import annotations

import ipaddress

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from infra.common import sizing
from infra.common.context import Https
from infra.common.nag import acknowledge

# TLS 1.2 minimum, TLS 1.3 and hybrid post-quantum key exchange preferred: ELB's named policy
# ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09, the one AWS recommends (the ELB guide's "Security
# policies for your Application Load Balancer", read 2026-12-04). Set, because CloudFormation's
# default is ELBSecurityPolicy-2016-08 (TLS 1.0).
TLS_POLICY = elbv2.SslPolicy.TLS13_12_RES_PQ
HTTPS_PORT = 443


class LoadBalancedNetwork(Construct):
    """A VPC of public subnets (no NAT) and an internet-facing ALB that admits HTTP (and HTTPS, given a
    certificate) from one CIDR and forwards it to one target group on ``app_port``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        allowed_ingress_cidr: str,
        https: Https | None = None,
        app_port: int = sizing.APP_PORT,
        health_check_path: str = sizing.READY_PATH,
    ) -> None:
        super().__init__(scope, construct_id)
        self.https = https

        # VPC: two AZs (the ALB needs two), public subnets, no NAT gateway (docs/deploy.md: why). The
        # instances and tasks reach AWS through public IPs; their security groups admit only the ALB.
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
            # Nothing is placed in the default security group, so no custom resource strips its rules:
            # its provider function would leave a log group behind after `make destroy-*`.
            restrict_default_security_group=False,
        )
        acknowledge(
            self.vpc,
            "AwsSolutions-VPC7",
            "No VPC flow logs: the VPC holds only the ALB and the app (no data stores) and lives for a "
            "benchmark; flow logs would bill per GB ingested for load-test traffic.",
        )

        # Security group: HTTP(S) from the allowed CIDR only (the default, 127.0.0.1/32, admits nobody). The
        # ALB is IPv4-only, so the context admits IPv4 CIDRs only (infra/common/context.py).
        network = ipaddress.IPv4Network(allowed_ingress_cidr)
        security_group = ec2.SecurityGroup(
            self, "AlbSecurityGroup", vpc=self.vpc, description="ALB: HTTP from the allowed CIDR only"
        )
        peer = ec2.Peer.ipv4(str(network))
        security_group.add_ingress_rule(peer, ec2.Port.tcp(80), "HTTP from allowedIngressCidr")
        if https:
            security_group.add_ingress_rule(peer, ec2.Port.tcp(HTTPS_PORT), "HTTPS from allowedIngressCidr")
        if network.prefixlen == 0:
            acknowledge(
                security_group,
                "AwsSolutions-EC23",
                "The operator passed allowedIngressCidr=0.0.0.0/0 on purpose; the default admits nobody.",
            )

        # Load balancer. Its idle timeout is set, not left to AWS's default, because the app's keep-alive
        # must outlast it (serving.config.Settings.keep_alive_seconds): then the ALB closes idle
        # connections first and never reuses one the server is closing, which would be a 502.
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=self.vpc,
            internet_facing=True,
            security_group=security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
            idle_timeout=cdk.Duration.seconds(sizing.ALB_IDLE_TIMEOUT_SECONDS),
        )
        acknowledge(
            self.load_balancer,
            "AwsSolutions-ELB2",
            "No ALB access logs: a short-lived benchmark endpoint whose load tests would fill a bucket per "
            "request; the app logs one line per request itself, to CloudWatch Logs on every way.",
        )

        # Target group: the app port, health-checked on /ready; its target type (instance or ip) is set
        # by what the stack adds. The report's start-time split (the app's start + interval x threshold)
        # reads the same two numbers. A short deregistration delay: requests take milliseconds.
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "App",
            vpc=self.vpc,
            port=app_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            deregistration_delay=cdk.Duration.seconds(10),
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(sizing.ALB_HEALTH_CHECK_INTERVAL_SECONDS),
                healthy_threshold_count=sizing.ALB_HEALTHY_THRESHOLD_COUNT,
            ),
        )

        # Listeners. open=False: the security group above already decides who may connect. Adding a
        # target opens its security group to the ALB's, on app_port only.
        if https is None:
            # Port 80 to the target group: requests and predictions cross the network in clear text.
            self.load_balancer.add_listener(
                "Http", port=80, open=False, default_target_groups=[self.target_group]
            )
            cdk.Annotations.of(self.load_balancer).add_warning_v2(
                "one-model:plain-http",
                "No certificateArn: the endpoint is plain HTTP, so requests and predictions cross the "
                "internet unencrypted; pass CERTIFICATE_ARN and DOMAIN_NAME for HTTPS (docs/deploy.md).",
            )
        else:
            # HTTPS on 443 to the target group, with the certificate and a named TLS policy.
            self.load_balancer.add_listener(
                "Https",
                port=HTTPS_PORT,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(https.certificate_arn)],
                ssl_policy=TLS_POLICY,
                open=False,
                default_target_groups=[self.target_group],
            )
            # Port 80 only redirects. Same construct id as the plain listener: adding a certificate to
            # a deployed stack updates that listener in place (a second one on port 80 would clash).
            self.load_balancer.add_listener(
                "Http",
                port=80,
                open=False,
                default_action=elbv2.ListenerAction.redirect(
                    protocol="HTTPS", port=str(HTTPS_PORT), permanent=True
                ),
            )

    @property
    def url(self) -> str:
        """The endpoint's base URL (the EndpointUrl output): the certificate's host name over HTTPS,
        else the ALB's own DNS name over HTTP."""
        if self.https:
            return f"https://{self.https.domain_name}"
        return f"http://{self.load_balancer.load_balancer_dns_name}"
