"""How each way runs on this machine: the local stand-ins for AWS, in modules of one job each.

docker.py       build the repo's one Dockerfile (the ecs and lambda images), as the CDK does
rie.py          the Lambda Runtime Interface Emulator binary, from the aws-sam-cli wheel
snapstart.py    a stand-in for the Runtime API's SnapStart lifecycle (the RIE has none), run in the image
process.py      free loopback ports, managed subprocesses, a fresh server's first success
containers.py   ``docker run`` with the cloud's limits, on 127.0.0.1, labelled per run
commands.py     each way's command and environment: the one definition the runners use
targets.py      what the demo drives (``LocalTarget``), and a server as a process or a container
ec2.py          the systemd unit's command as a host process
ecs.py          the ECS image as a container with the Fargate task's CPU and memory
proxy.py        HAProxy standing in for the ALB
tls.py          a certificate for one run's HTTPS (``make demo TLS=1``), under .cache/tls/
balanced_target.py  an ec2 or ecs server behind that proxy
function_url/   Lambda: the image under the RIE, behind a local Function URL (see its __init__)
ways.py         one way's stand-in, by name, for ``make demo`` and ``make faults``
__main__.py     ``python -m infra.local build|rie-path|limits``, for the Makefile

Everything listens on 127.0.0.1 only, and everything started is stopped again.
"""
