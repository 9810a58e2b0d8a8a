# A stand-in for the Debian 13 EC2 instance: trixie booting systemd as PID 1, so
# test_user_data.py can run infra/ec2/user_data.sh unchanged and talk to the service it starts.
# The test builds it FROM the app images' base (infra.local.docker.base_image()).
# The Debian packages user data installs on a bare instance are preinstalled here (user data
# skips apt for installed packages), so user data runs with no network at all: it must
# install the app from the bundle's wheels alone.
ARG BASE_IMAGE=debian:trixie
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-install-recommends \
        systemd systemd-sysv python3 python3-venv logrotate awscli curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Nothing a container can or needs to run at boot: consoles, udev, time sync, kernel mounts.
RUN systemctl mask getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
        systemd-timesyncd.service systemd-firstboot.service systemd-modules-load.service \
        sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
