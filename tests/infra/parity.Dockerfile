# The model's training libraries on another architecture, for test_arm64.py's parity check: what
# `make model` installs from requirements/dev.txt, FROM that architecture's base image (under QEMU).
# The context is a temporary folder: dev.txt and, for this build only, the build machine's pip files.
# BASE_IMAGE is always passed: the public one is named in the Dockerfile only.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PACKAGES
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_CONFIG_FILE=/tmp/build/.pip-build.conf
COPY dev.txt .pip-build* /tmp/build/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --quiet --only-binary=:all: -c /tmp/build/dev.txt ${PACKAGES} \
    && rm -rf /tmp/build
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
