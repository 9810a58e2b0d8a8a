# One recipe, two images that share every layer but the last:
#   ecs     `python -m serving`: uvicorn serving the app on :8000 (the ECS Fargate task)
#   lambda  the same app behind awslambdaric + Mangum (the Lambda container image)
#
#   make image-ecs / make image-lambda          (infra/local/docker.py)
#   docker build --target ecs -t one-model:ecs .
#
# Plain Dockerfile syntax only (no `RUN --mount`, no `# syntax=` line): `cdk deploy` and `sam build`
# run a classic `docker build`, and Debian's docker.io 20.10 refuses BuildKit-only syntax there.
# BuildKit builds it the same way.
# CI builds FROM a debootstrapped Debian trixie (infra/local/debian-base-image.sh, one per architecture);
# anywhere else the public image below is used (multi-arch: amd64 and arm64). Both are Debian 13 with
# CPython 3.13, what Debian 13's own python3 is on the EC2 instances too.
ARG BASE_IMAGE=python:3.13-slim-trixie

# ---------------------------------------------------------------- builder
# Only the builder stage sees the build machine's pip config: `.pip-build.conf` (and the CA bundle
# it names, `.pip-build-ca.crt`, for a TLS-intercepting proxy) when infra/local/docker.py put them
# into the context for this build. Anywhere else the wildcard matches nothing and pip uses its
# defaults (a missing PIP_CONFIG_FILE is ignored). The shipped stages below copy only /opt/venv,
# /opt/lambda and /app out of here, so neither file reaches a layer of either image.
# One RUN installs both lock files: the app's into /opt/venv, and the Lambda runtime client into
# its own folder, so the lambda image is the ecs image plus one small layer.
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_CONFIG_FILE=/tmp/build/.pip-build.conf
COPY requirements/serving.txt requirements/lambda.txt .pip-build* /tmp/build/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile --no-deps --only-binary=:all: -r /tmp/build/serving.txt \
    && /opt/venv/bin/pip install --no-compile --no-deps --only-binary=:all: \
        --target /opt/lambda -r /tmp/build/lambda.txt \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/lambda

# The app and the model, byte-compiled now: a read-only root filesystem (and Lambda's) cannot
# cache bytecode at run time, and compiling at every cold start costs time. unchecked-hash:
# the .pyc files are used as they are, whatever the source files' timestamps.
# model/artifacts.py says where the artifacts are (serving.config reads it); it needs nothing
# beyond the standard library.
FROM builder AS app
COPY serving/ /app/serving/
COPY model/__init__.py model/artifacts.py /app/model/
COPY model/artifacts/model.onnx model/artifacts/metadata.json /app/model/artifacts/
# Slim: no installer, no test suites, none of onnxruntime's offline tooling (never imported).
RUN /opt/venv/bin/python -m pip uninstall --quiet --yes pip setuptools \
    && find /opt/venv -depth -type d -name tests -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3*/site-packages/onnxruntime/transformers \
        /opt/venv/lib/python3*/site-packages/onnxruntime/quantization \
        /opt/venv/lib/python3*/site-packages/onnxruntime/tools \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv /app \
    && chmod -R a+rX /app /opt/venv

# ---------------------------------------------------------------- runtime (shared)
FROM ${BASE_IMAGE} AS runtime
# ORT_DISABLE_TELEMETRY: onnxruntime would otherwise try to persist a telemetry device id in
# $HOME, which a read-only filesystem refuses (a warning at every cold start).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ORT_DISABLE_TELEMETRY=1
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
COPY --from=app /opt/venv /opt/venv
COPY --from=app /app /app
WORKDIR /app

# ---------------------------------------------------------------- ecs
# `python -m serving` (serving/server.py) takes its settings from serving.config.Settings (APP_*):
# the worker count is APP_WORKERS (the ECS stack sets it from the task size), else one per CPU the
# container may use (its cgroup CPU quota, `--cpus`, before the host's core count).
FROM runtime AS ecs
USER 10001:10001
# Fargate mounts a root-owned 0755 volume at /tmp unless the image declares it: then ECS fills the
# volume from the image (1777, like here), so the app user can write temp files under a read-only root.
VOLUME /tmp
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2).status != 200)"]
ENV APP_HOST=0.0.0.0 APP_PORT=8000
CMD ["python", "-m", "serving"]

# ---------------------------------------------------------------- lambda
# The last stage on purpose: `sam build` on the CDK template ignores the asset's target.
# awslambdaric polls the Lambda Runtime API; `python -m` puts /app (the workdir) on sys.path.
# root here: `sam local invoke` cannot add its emulator layer to an image with a non-root USER.
# Lambda ignores the image's USER anyway and runs every function as its own unprivileged sandbox user.
# SnapStart needs no label here: awslambdaric implements `GET /runtime/restore/next` and runs the
# app's hooks (the label com.amazonaws.lambda.feature.snapstart="Allow" is for runtimes that do not).
FROM runtime AS lambda
USER root
COPY --from=builder /opt/lambda /opt/lambda
ENV PYTHONPATH=/opt/lambda
ENTRYPOINT ["python", "-m", "awslambdaric"]
CMD ["serving.lambda_handler.handler"]
