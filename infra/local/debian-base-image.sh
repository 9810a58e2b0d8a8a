#!/usr/bin/env bash
# Build the local Debian 13 (trixie) base image with debootstrap and print its tag.
#
# CI (and any machine that reaches package registries but no container registry) cannot pull
# the Dockerfile's public BASE_IMAGE default (a Python 3.13 trixie slim image). This makes the
# equivalent from Debian's own packages: a minbase trixie with CPython 3.13 (python3,
# python3-venv) and CA certificates, imported into the local Docker engine. The Dockerfile then
# builds FROM it via --build-arg BASE_IMAGE=<tag>.
# The tag carries a hash of this script, so the image is rebuilt only when the recipe changes.
#
# arm64 on an x86_64 machine: debootstrap's second stage runs the arm64 packages' scripts under
# QEMU, so binfmt_misc must have a qemu-aarch64 handler (.ci/run registers it). The root filesystem
# becomes an image through `FROM scratch` + `ADD` built with --platform, which records the
# architecture (docker.io 20.10's `docker import --platform` ignores it), so
# `docker build --platform linux/arm64` builds FROM it.
#
# Usage: infra/local/debian-base-image.sh [amd64|arm64]
#        (default: this machine's; prints e.g. one-model/debian-base:trixie-1a2b3c4d5e6f,
#        or one-model/debian-base:trixie-arm64-1a2b3c4d5e6f for another architecture)
# Env:   DEBIAN_MIRROR (default http://deb.debian.org/debian), DOCKER (default /usr/bin/docker)
set -euo pipefail

readonly SUITE=trixie
readonly PACKAGES=python3,python3-venv,ca-certificates
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly DOCKER=${DOCKER:-/usr/bin/docker}
HOST_ARCH=$(dpkg --print-architecture)
readonly HOST_ARCH ARCH=${1:-$HOST_ARCH}
recipe_hash=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
# The host's architecture keeps the plain tag (the one CI's BASE_IMAGE names).
if [[ $ARCH == "$HOST_ARCH" ]]; then
    readonly TAG="one-model/debian-base:${SUITE}-${recipe_hash}"
else
    readonly TAG="one-model/debian-base:${SUITE}-${ARCH}-${recipe_hash}"
fi

case $ARCH in
    amd64 | arm64) ;;
    *)
        echo "unsupported architecture $ARCH (amd64 or arm64)" >&2
        exit 2
        ;;
esac

# One build per tag at a time: .ci/run starts the arm64 one in the background and the tests that
# need it call this script too; a second caller waits here, then reuses the image.
exec 9> "/tmp/one-model-debian-base-${TAG##*:}.lock"
flock 9

if "$DOCKER" image inspect "$TAG" > /dev/null 2>&1; then
    echo "base image $TAG exists, reusing it" >&2
    echo "$TAG"
    exit 0
fi

if ! command -v debootstrap > /dev/null; then
    echo "installing debootstrap" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -qq -y debootstrap >&2
fi

rootfs=$(mktemp -d /tmp/debian-base.XXXXXX)
context=$(mktemp -d /tmp/debian-base-context.XXXXXX)
trap 'rm -rf "$rootfs" "$context"' EXIT

echo "debootstrap $SUITE $ARCH ($PACKAGES) from $MIRROR" >&2
debootstrap --variant=minbase --arch="$ARCH" --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
    > "$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# Same sources as the Debian images: main, updates and security, so apt-get in a derived
# image (the user-data test's systemd image) gets current packages.
cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
# What the official slim images leave out too: package lists, caches, docs and man pages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log

tar --numeric-owner -C "$rootfs" -cf "$context/rootfs.tar" .
cat > "$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["/bin/bash"]
DOCKERFILE
DOCKER_BUILDKIT=0 "$DOCKER" build --quiet --platform "linux/$ARCH" --tag "$TAG" "$context" > /dev/null
echo "built base image $TAG" >&2
echo "$TAG"
