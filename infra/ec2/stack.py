"""The app on a VM: an Auto Scaling group of Debian 12 instances behind an ALB.

First boot runs infra/ec2/user_data.sh: it copies the app+model bundle (infra/ec2/bundle.py) from the
CDK asset bucket with `aws s3 cp`, installs it, and starts the one-model systemd service (uvicorn on
APP_PORT). The ALB sends traffic only to instances whose /ready answers 200.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.common import names, shared, sizing
from infra.ec2.bundle import write_bundle

USER_DATA_SCRIPT = Path(__file__).with_name("user_data.sh")

# Debian 12 (bookworm), the latest image Debian publishes, read from Debian's public SSM parameter at
# deploy time (a CloudFormation parameter, so the stack stays account- and region-agnostic). Debian
# rather than Amazon Linux because the same user_data.sh is tested here in a Debian 12 container with
# systemd: what runs on the instance is what the tests ran.
DEBIAN_AMI_PARAMETER = "/aws/service/debian/release/bookworm/latest/{arch}"
DEBIAN_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def render_user_data(script: str, params: dict[str, str]) -> str:
    """The real user_data.sh, with its parameters exported right after the shebang line."""
    shebang, _, body = script.partition("\n")
    exports = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in params.items())
    return f"{shebang}\n# ---- filled in by infra/ec2/stack.py\n{exports}\n# ----\n{body}"


class Ec2Stack(cdk.Stack):
    def __init__(self, scope: Construct, settings: shared.Settings, bundle_staging_dir: Path) -> None:
        super().__init__(
            scope,
            names.STACK_NAMES["ec2"],
            **shared.stack_props("ec2", "the app as a systemd service on EC2 instances behind an ALB"),
        )

        # Network: public subnets, no NAT (see shared.public_vpc for the trade-off).
        vpc = shared.public_vpc(self)
        alb = shared.public_alb(self, vpc, settings)

        # The bundle: app + model + runtime requirements, laid out by bundle.py and uploaded by
        # `cdk deploy` to the bootstrap asset bucket (a directory is uploaded as one .zip).
        shutil.rmtree(bundle_staging_dir, ignore_errors=True)
        bundle = s3_assets.Asset(self, "Bundle", path=str(write_bundle(bundle_staging_dir)))

        # The instance role: Session Manager (no SSH, no key pair, no inbound port 22) and read access
        # to this one bundle object, nothing else. Not bundle.grant_read(role): that grants s3:GetObject*
        # and s3:List* on the whole CDK asset bucket, i.e. on every other stack's assets too.
        role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore")],
            description="One Model EC2: Session Manager and read its own bundle",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[bundle.bucket.arn_for_objects(bundle.s3_object_key)]
            )
        )
        shared.acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]",
            "AmazonSSMManagedInstanceCore is AWS's own minimal policy for the Session Manager agent, kept "
            "current by AWS as the agent changes; a hand-copied inline version would drift.",
        )

        # Instances admit traffic from the ALB only (added below by the listener wiring).
        instance_sg = ec2.SecurityGroup(
            self, "InstanceSecurityGroup", vpc=vpc, description="App instances: the ALB only"
        )

        user_data = ec2.UserData.custom(
            render_user_data(
                USER_DATA_SCRIPT.read_text(),
                {
                    "BUNDLE_URI": bundle.s3_object_url,
                    "APP_PORT": str(sizing.APP_PORT),
                    # For `aws s3 cp`: the asset bucket is in the stack's region.
                    "AWS_DEFAULT_REGION": cdk.Aws.REGION,
                },
            )
        )

        launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            machine_image=ec2.MachineImage.from_ssm_parameter(
                DEBIAN_AMI_PARAMETER.format(arch=DEBIAN_ARCH[settings.architecture])
            ),
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

        asg = autoscaling.AutoScalingGroup(
            self,
            "Asg",
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            launch_template=launch_template,
            min_capacity=sizing.EC2_MIN_INSTANCES,
            max_capacity=sizing.EC2_MAX_INSTANCES,
            # Replace instances the ALB finds unhealthy, after first boot has had time to install.
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=cdk.Duration.minutes(5),
            ),
            # A new bundle or AMI means new user data, so a new launch template version: roll the
            # instances onto it, one at a time, keeping one in service. Debian's AMI has no cfn-signal,
            # so CloudFormation waits a fixed pause (first boot: apt, pip, /ready) instead of a signal.
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                min_instances_in_service=sizing.EC2_MIN_INSTANCES, pause_time=cdk.Duration.minutes(5)
            ),
        )
        shared.acknowledge(
            asg,
            "AwsSolutions-AS3",
            "No SNS notifications for scaling events: nobody subscribes during a benchmark; the "
            "activity history in the Auto Scaling console records every event.",
        )

        listener = alb.add_listener("Http", port=80, open=False)
        # Registering the group as targets also opens instance_sg to the ALB's group on APP_PORT.
        listener.add_targets(
            "App",
            port=sizing.APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[asg],
            deregistration_delay=cdk.Duration.seconds(10),
            health_check=elbv2.HealthCheck(
                path=sizing.READY_PATH,
                healthy_http_codes="200",
                interval=cdk.Duration.seconds(10),
                healthy_threshold_count=2,
            ),
        )

        # Target tracking on CPU: the same target as the Fargate service.
        asg.scale_on_cpu_utilization("CpuTarget", target_utilization_percent=sizing.TARGET_CPU_PERCENT)

        shared.add_outputs(
            self,
            "ec2",
            {
                names.OUTPUT_ENDPOINT_URL: shared.http_endpoint(alb),
                names.OUTPUT_WAY: "ec2",
                names.OUTPUT_ASG_NAME: asg.auto_scaling_group_name,
            },
        )
