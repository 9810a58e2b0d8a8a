"""Local stand-ins for the three deployments, built from the same artifacts as the cloud.

ec2     the systemd unit's ExecStart, as a host process (``ec2.py``)
ecs     the ECS image under Docker with the Fargate task's CPU and memory (``ecs.py``)
lambda  the Lambda image under the Lambda RIE, behind a local Function URL (``function_url.py``)

Everything listens on 127.0.0.1 only, and everything started is stopped again.
"""
