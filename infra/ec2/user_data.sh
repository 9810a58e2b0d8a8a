#!/usr/bin/env bash
# First boot of a Debian 12 (bookworm) instance: install the app+model bundle as the
# `one-model` systemd service and return only once its /ready answers.
#
# Parameters (environment variables; infra/ec2/stack.py exports them right after the shebang):
#   BUNDLE_URI             where the bundle .zip is (infra/ec2/bundle.py lays it out):
#                          s3://bucket/key.zip on AWS (the CDK asset), or file:///path.zip
#                          (tests/infra/test_user_data.py runs this very script that way)
#   APP_PORT               TCP port uvicorn listens on (default 8000; the ALB's target port)
#   INSTALL_SSM_AGENT      "true" (default) installs the Amazon SSM agent, which Debian's AMIs
#                          do not ship, so Session Manager works without SSH; the test sets "false"
#                          (it needs the instance metadata service and AWS's download bucket)
#   READY_TIMEOUT_SECONDS  how long to wait for /ready before failing (default 300)
# pip honours its usual PIP_* variables (e.g. PIP_INDEX_URL, PIP_CERT) for the venv install.
#
# Layout: /opt/one-model/{app,venv}, unit /etc/systemd/system/one-model.service, port in
# /etc/one-model/one-model.env. Output goes to /var/log/cloud-init-output.log on the instance.
set -euo pipefail

readonly BUNDLE_URI=${BUNDLE_URI:?BUNDLE_URI must name the bundle .zip (s3:// or file://)}
readonly APP_PORT=${APP_PORT:-8000}
readonly INSTALL_SSM_AGENT=${INSTALL_SSM_AGENT:-true}
readonly READY_TIMEOUT_SECONDS=${READY_TIMEOUT_SECONDS:-300}

readonly SERVICE=one-model
readonly SERVICE_USER=one-model
readonly ROOT=/opt/one-model # the unit file names these paths
readonly APP_DIR=$ROOT/app
readonly VENV=$ROOT/venv

log() { echo "user-data: $*"; }

# Debian packages: only the missing ones, so a prepared image needs no apt at all.
install_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query --show --showformat='${Status}' "$package" 2> /dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    if ((${#missing[@]})); then
        log "apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-install-recommends "${missing[@]}"
    fi
}

# The instance's region, from the metadata service (IMDSv2: the stack requires tokens).
instance_region() {
    local token
    token=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" \
        http://169.254.169.254/latest/api/token)
    curl -fsS -H "X-aws-ec2-metadata-token: $token" \
        http://169.254.169.254/latest/meta-data/placement/region
}

# The agent comes from AWS's regional bucket, as AWS documents for Debian.
install_ssm_agent() {
    local region arch
    region=$(instance_region)
    arch=$(dpkg --print-architecture)
    log "installing the SSM agent ($region, $arch)"
    curl -fsSL -o /tmp/amazon-ssm-agent.deb \
        "https://s3.$region.amazonaws.com/amazon-ssm-$region/latest/debian_$arch/amazon-ssm-agent.deb"
    dpkg -i /tmp/amazon-ssm-agent.deb
    rm -f /tmp/amazon-ssm-agent.deb
    systemctl enable --now amazon-ssm-agent
}

fetch_bundle() {
    local zip
    zip=$(mktemp --suffix=.zip)
    case "$BUNDLE_URI" in
        s3://*) aws s3 cp --only-show-errors --region "$(instance_region)" "$BUNDLE_URI" "$zip" ;;
        file://*) cp "${BUNDLE_URI#file://}" "$zip" ;;
        *)
            log "unsupported BUNDLE_URI: $BUNDLE_URI"
            exit 1
            ;;
    esac
    log "unpacking $BUNDLE_URI into $APP_DIR"
    rm -rf "$APP_DIR.new"
    python3 -m zipfile -e "$zip" "$APP_DIR.new"
    rm -rf "$APP_DIR" "$zip"
    mv "$APP_DIR.new" "$APP_DIR"
}

create_venv() {
    log "installing requirements/serving.txt into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check \
        --no-deps --only-binary=:all: -r "$APP_DIR/requirements/serving.txt"
    # Bytecode now: the service runs with a read-only /opt (ProtectSystem=strict).
    "$VENV/bin/python" -m compileall -q -j 0 "$APP_DIR/serving" > /dev/null
}

install_service() {
    if ! id -u "$SERVICE_USER" > /dev/null 2>&1; then
        useradd --system --user-group --home-dir "$ROOT" --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    chown -R root:root "$ROOT"
    chmod -R a+rX,go-w "$ROOT"
    install -d -m 0755 /etc/one-model
    printf 'APP_PORT=%s\n' "$APP_PORT" > /etc/one-model/one-model.env
    install -m 0644 "$APP_DIR/infra/ec2/one-model.service" "/etc/systemd/system/$SERVICE.service"
    systemctl daemon-reload
    systemctl enable "$SERVICE"
    systemctl restart "$SERVICE"
}

wait_until_ready() {
    local url="http://127.0.0.1:$APP_PORT/ready"
    local deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
    log "waiting for $url"
    until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" \
        2> /dev/null; do
        if ((SECONDS >= deadline)); then
            log "$SERVICE not ready after ${READY_TIMEOUT_SECONDS}s"
            journalctl --unit "$SERVICE" --no-pager --lines 50 || true
            exit 1
        fi
        sleep 1
    done
    log "$SERVICE is ready on port $APP_PORT"
}

main() {
    local packages=(python3 python3-venv)
    if [[ $BUNDLE_URI == s3://* ]]; then packages+=(awscli); fi
    # curl: the metadata service (region) and the SSM agent download.
    if [[ $BUNDLE_URI == s3://* || $INSTALL_SSM_AGENT == true ]]; then packages+=(curl); fi
    install_packages "${packages[@]}"
    if [[ $INSTALL_SSM_AGENT == true ]]; then install_ssm_agent; fi
    fetch_bundle
    create_venv
    install_service
    wait_until_ready
}

main "$@"
