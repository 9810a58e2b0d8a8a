"""The app on a VM: an Auto Scaling group of Debian 13 instances behind an ALB.

First boot runs infra/ec2/user_data.sh: it copies the app+model bundle (infra/ec2/bundle.py, wheels
included) from the CDK asset bucket with `aws s3 cp`, installs it without a package index, starts the
one-model systemd service (infra/ec2/one-model.service: `python -m serving` on APP_PORT), ships its log
to CloudWatch, and signals CloudFormation once /ready answers (or at once on failure). The ALB sends
traffic only to instances whose /ready answers 200.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.common import names, sizing
from infra.common.context import Settings
from infra.common.load_balanced import LoadBalancedNetwork
from infra.common.nag import acknowledge
from infra.ec2.bundle import write_bundle

USER_DATA_SCRIPT = Path(__file__).with_name("user_data.sh")

# Debian 13 (trixie, whose python3 is CPython 3.13), from Debian's public SSM parameter: the one place
# its name is written. Debian rather than Amazon Linux because the same user_data.sh is tested here in a
# Debian 13 container with systemd: what runs on the instance is what the tests ran.
DEBIAN_AMI_PARAMETER = "/aws/service/debian/release/trixie/latest/{arch}"
DEBIAN_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def debian_image(stack: cdk.Stack, architecture: str) -> ec2.IMachineImage:
    """Debian's AMI, pinned: with an account and region (a deploy) the first synth looks it up and
    cdk.context.json keeps it, so a new Debian release rolls no instance until `make refresh-ami`.
    Without them (no credentials: the tests, an offline `make synth`) CDK cannot look anything up,
    and the template reads the parameter at deploy time instead."""
    parameter = DEBIAN_AMI_PARAMETER.format(arch=DEBIAN_ARCH[architecture])
    agnostic = cdk.Token.is_unresolved(stack.account) or cdk.Token.is_unresolved(stack.region)
    return ec2.MachineImage.from_ssm_parameter(parameter, cached_in_context=not agnostic)


def user_data_exports(params: dict[str, str]) -> str:
    """The block of ``export KEY='value'`` lines that goes right after user_data.sh's shebang."""
    exports = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in params.items())
    return f"# ---- filled in by infra/ec2/stack.py\n{exports}\n# ----"


class Ec2Stack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        bundle_staging_dir: Path,
        **kwargs: Any,
    ) -> None:
        description = "One Model, Three Ways: the app as a systemd service on EC2 instances behind an ALB"
        super().__init__(scope, construct_id, description=description, **kwargs)

        # Network and load balancer: public subnets, no NAT, an ALB for the allowed CIDR whose target
        # group checks /ready (infra/common/load_balanced.py, shared with the ECS stack).
        web = LoadBalancedNetwork(
            self, "Web", allowed_ingress_cidr=settings.allowed_ingress_cidr, https=settings.https
        )

        # The bundle: app + model + runtime requirements, laid out by bundle.py and uploaded by
        # `cdk deploy` to the bootstrap asset bucket (a directory is uploaded as one .zip).
        # The wheels in it are for the deployed CPU, so first boot needs no package index.
        shutil.rmtree(bundle_staging_dir, ignore_errors=True)
        bundle = s3_assets.Asset(
            self, "Bundle", path=str(write_bundle(bundle_staging_dir, settings.architecture))
        )

        # Logs: the CloudWatch agent (installed by user data) ships the app's log here, with the same
        # retention as the other two ways; `cdk destroy` removes it.
        log_group = logs.LogGroup(
            self, "AppLogs", retention=logs.RetentionDays.ONE_WEEK, removal_policy=cdk.RemovalPolicy.DESTROY
        )

        # The instance role: Session Manager (no SSH, no key pair, no inbound port 22; its managed policy
        # also reads any SSM parameter, as docs/deploy.md warns), and each of the boot's AWS calls on its
        # one resource:
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
            description="One Model EC2: Session Manager, its bundle, its log group, its stack's signal",
        )
        # - read this one bundle object. Not bundle.grant_read(role): that grants s3:GetObject* and
        #   s3:List* on the whole CDK asset bucket, i.e. on every other stack's assets too;
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bundle.bucket.arn_for_objects(bundle.s3_object_key)]
            )
        )
        # - write to this log group's streams (the agent makes one per instance); the group exists,
        #   so no logs:CreateLogGroup, and its retention is the stack's, so no logs:PutRetentionPolicy;
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[log_group.log_group_arn],
            )
        )
        # - signal this stack (the Auto Scaling group below waits for it). IAM cannot narrow
        #   SignalResource to one logical id, so the stack's own ARN is the tightest scope.
        role.add_to_policy(
            iam.PolicyStatement(actions=["cloudformation:SignalResource"], resources=[self.stack_id])
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "AmazonSSMManagedInstanceCore is AWS's own minimal policy for the Session Manager agent, kept "
            "current by AWS as the agent changes; a hand-copied inline version would drift.",
        )

        # Instances admit traffic from the ALB only (added below, with the group as the ALB's target).
        instance_sg = ec2.SecurityGroup(
            self, "InstanceSecurityGroup", vpc=web.vpc, description="App instances: the ALB only"
        )

        # User data is the real user_data.sh with its parameters exported after the shebang. One of
        # them names the Auto Scaling group it signals, which is made from this launch template; the
        # template renders user data only at synth, so the script is added once the group exists.
        shebang, _, user_data_body = USER_DATA_SCRIPT.read_text().partition("\n")
        user_data = ec2.UserData.for_linux(shebang=shebang)

        # Launch template: Debian 13, the instance size, the role, the security group and the user data.
        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=debian_image(self, settings.architecture),
            instance_type=ec2.InstanceType(sizing.EC2_INSTANCE_TYPE[settings.architecture]),
            role=role,
            security_group=instance_sg,
            user_data=user_data,
            # IMDSv2 only: a server-side request forgery (a plain GET) cannot read the role's credentials.
            require_imdsv2=True,
            # Public IP for outbound (S3, SSM, Debian mirrors) without a NAT gateway.
            associate_public_ip_address=True,
            # Encrypted gp3 root volume (the Debian AMI's root device is /dev/xvda).
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        8, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
                    ),
                )
            ],
        )

        # Auto Scaling group: the instances, in the public subnets, replaced when unhealthy. The boot
        # budget bounds a first boot (apt, agents, venv, /ready) wherever a new instance appears.
        boot_signal_timeout = cdk.Duration.minutes(sizing.EC2_BOOT_SIGNAL_TIMEOUT_MINUTES)
        asg = autoscaling.AutoScalingGroup(
            self,
            "Asg",
            vpc=web.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            launch_template=launch_template,
            min_capacity=sizing.EC2_MIN_INSTANCES,
            max_capacity=sizing.EC2_MAX_INSTANCES,
            # Replace instances the ALB finds unhealthy, but only once a boot may have ended: a
            # shorter grace would replace an instance that is still installing.
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=boot_signal_timeout,
            ),
            # Target tracking leaves a booting instance's CPU (apt, pip) out of its decisions for as
            # long; unset, it would fall back to the group's default cooldown (300 s).
            default_instance_warmup=boot_signal_timeout,
            # Creation waits until min_capacity instances have signalled SUCCESS (user data does, once
            # /ready answers); a FAILURE signal or the timeout fails the stack instead of reporting a
            # group whose app never started.
            signals=autoscaling.Signals.wait_for_min_capacity(timeout=boot_signal_timeout),
            # A new bundle or AMI means new user data, so a new launch template version: roll the
            # instances onto it one at a time, keeping one in service, and wait for each new
            # instance's signal. A FAILURE (a broken bundle) or no signal in time fails the update,
            # and CloudFormation rolls the group back to the previous launch template version.
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                min_instances_in_service=sizing.EC2_MIN_INSTANCES,
                wait_on_resource_signals=True,
                pause_time=boot_signal_timeout,
            ),
        )
        user_data.add_commands(
            user_data_exports(
                {
                    "BUNDLE_URI": bundle.s3_object_url,
                    "APP_PORT": str(sizing.APP_PORT),
                    # For the AWS CLI and the agent: the bucket, the log group and the stack are here.
                    "AWS_DEFAULT_REGION": cdk.Aws.REGION,
                    "LOG_GROUP_NAME": log_group.log_group_name,
                    # `aws cloudformation signal-resource --stack-name ... --logical-resource-id ...`
                    "CFN_STACK_NAME": cdk.Aws.STACK_NAME,
                    "CFN_RESOURCE_ID": cast(cdk.CfnResource, asg.node.default_child).logical_id,
                }
            ),
            user_data_body,
        )
        acknowledge(
            asg,
            "AwsSolutions-AS3",
            "No SNS notifications for scaling events: nobody subscribes during a benchmark; the "
            "activity history in the Auto Scaling console records every event.",
        )

        # The ALB's targets: the group's instances (this also opens instance_sg to the ALB on APP_PORT).
        web.target_group.add_target(asg)

        # Scaling: target tracking on CPU, the same target as the Fargate service.
        asg.scale_on_cpu_utilization("CpuTarget", target_utilization_percent=sizing.TARGET_CPU_PERCENT)

        # Outputs: what the load tests read (infra/common/names.py OUTPUTS_BY_WAY["ec2"]).
        cdk.CfnOutput(self, names.OUTPUT_ENDPOINT_URL, value=web.url)
        cdk.CfnOutput(self, names.OUTPUT_WAY, value="ec2")
        if web.https:  # the host name EndpointUrl serves, and the ALB name the user's DNS points it at
            cdk.CfnOutput(self, names.OUTPUT_DOMAIN_NAME, value=web.https.domain_name)
            cdk.CfnOutput(
                self, names.OUTPUT_LOAD_BALANCER_DNS_NAME, value=web.load_balancer.load_balancer_dns_name
            )
        cdk.CfnOutput(self, names.OUTPUT_ARCHITECTURE, value=settings.architecture)
        cdk.CfnOutput(self, names.OUTPUT_LOG_GROUP_NAME, value=log_group.log_group_name)
        cdk.CfnOutput(self, names.OUTPUT_ASG_NAME, value=asg.auto_scaling_group_name)
