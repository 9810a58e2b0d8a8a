#!/usr/bin/env bash
# First boot of a Debian 13 (trixie) instance: install the app+model bundle as the
# `one-model` systemd service, ship its log to CloudWatch, and tell CloudFormation: SUCCESS
# only once /ready answers, FAILURE on any error (the Auto Scaling group waits for either).
#
# Parameters (environment variables; infra/ec2/stack.py exports them right after the shebang):
#   BUNDLE_URI             where the bundle .zip is (infra/ec2/bundle.py lays it out, wheels
#                          included): s3://bucket/key.zip on AWS (the CDK asset), or
#                          file:///path.zip (tests/infra/test_user_data.py runs this very script)
#   APP_PORT               TCP port uvicorn listens on (default 8000; the ALB's target port)
#   CFN_STACK_NAME         the stack and the logical id of the resource (the Auto Scaling group)
#   CFN_RESOURCE_ID        to signal; without them no signal is sent (a run by hand)
#   LOG_GROUP_NAME         the CloudWatch Logs group (the stack creates it, with its retention)
#                          the agent ships the app's log to; without it no agent config
#   AWS_DEFAULT_REGION     the region (default: the instance's, from the metadata service)
#   INSTALL_AWS_AGENTS     "true" (default) installs Amazon's SSM agent (Session Manager without
#                          SSH; Debian's AMIs do not ship it) and CloudWatch agent from AWS's
#                          regional buckets; the test sets "false" (they need AWS)
#   READY_TIMEOUT_SECONDS  how long to wait for /ready before failing (default 300)
#   IMDS_ENDPOINT          the instance metadata service (default http://169.254.169.254)
#   AWS_ENDPOINT_URL_CLOUDFORMATION  CloudFormation's endpoint, when not the region's own (the
#                          name newer AWS CLIs read; Debian 12's 2.9 does not, so it is passed on)
# The test points the last two at a stand-in on 127.0.0.1.
#
# Layout: /opt/one-model/{app,venv}, unit /etc/systemd/system/one-model.service, port in
# /etc/one-model/one-model.env, the app's output in /var/log/one-model/app.log (the agent's
# config: /etc/one-model/cloudwatch-agent.json). This script's output goes to
# /var/log/cloud-init-output.log on the instance.
set -euo pipefail

readonly BUNDLE_URI=${BUNDLE_URI:?BUNDLE_URI must name the bundle .zip (s3:// or file://)}
readonly APP_PORT=${APP_PORT:-8000}
readonly CFN_STACK_NAME=${CFN_STACK_NAME:-}
readonly CFN_RESOURCE_ID=${CFN_RESOURCE_ID:-}
readonly LOG_GROUP_NAME=${LOG_GROUP_NAME:-}
readonly INSTALL_AWS_AGENTS=${INSTALL_AWS_AGENTS:-true}
readonly READY_TIMEOUT_SECONDS=${READY_TIMEOUT_SECONDS:-300}
readonly IMDS_ENDPOINT=${IMDS_ENDPOINT:-http://169.254.169.254}
readonly CFN_ENDPOINT_URL=${AWS_ENDPOINT_URL_CLOUDFORMATION:-}

readonly SERVICE=one-model
readonly SERVICE_USER=one-model
readonly ROOT=/opt/one-model # the unit file names these paths
readonly APP_DIR=$ROOT/app
readonly VENV=$ROOT/venv
readonly LOG_FILE=/var/log/one-model/app.log # the unit's StandardOutput
readonly AGENT_CONFIG=/etc/one-model/cloudwatch-agent.json

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

# The metadata service, IMDSv2 (the stack requires tokens): meta-data/<path>.
instance_metadata() {
    local token
    token=$(curl -fsS --max-time 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" \
        "$IMDS_ENDPOINT/latest/api/token")
    curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/$1"
}

region() { echo "${AWS_DEFAULT_REGION:-$(instance_metadata placement/region)}"; }

# The Auto Scaling group waits for one signal per instance (unique id: the instance id).
SIGNALLED=false
signal_cloudformation() {
    local status=$1 instance_id endpoint=()
    if [[ -z $CFN_STACK_NAME || -z $CFN_RESOURCE_ID || $SIGNALLED == true ]]; then return 0; fi
    SIGNALLED=true
    instance_id=$(instance_metadata instance-id) || return 1 # set -e is off inside on_exit's ||
    if [[ -n $CFN_ENDPOINT_URL ]]; then endpoint=(--endpoint-url "$CFN_ENDPOINT_URL"); fi
    log "signalling $status to $CFN_STACK_NAME/$CFN_RESOURCE_ID for $instance_id"
    # Only a creation or a rolling update waits for signals. A boot outside one (a scale-out, a
    # relaunch after `make compare` scaled to 0) is refused ("... cannot be signaled"): that says
    # nothing about this boot, so it is logged, and the boot's own outcome stands.
    aws cloudformation signal-resource "${endpoint[@]}" --region "$(region)" \
        --stack-name "$CFN_STACK_NAME" --logical-resource-id "$CFN_RESOURCE_ID" \
        --unique-id "$instance_id" --status "$status" \
        || log "CloudFormation took no $status signal (nothing waits for one outside a creation or update)"
}

# Any error (set -e) ends here: FAILURE makes CloudFormation fail the creation or roll the
# update back now, rather than when the signal timeout runs out.
on_exit() {
    local status=$?
    if ((status != 0)); then
        log "failed (exit status $status)"
        signal_cloudformation FAILURE || log "could not signal FAILURE"
    fi
}

# Both agents come from AWS's regional buckets, as AWS documents for Debian (the CloudWatch
# agent's Ubuntu package: the one built for arm64 too).
install_aws_agents() {
    local region arch
    region=$(region)
    arch=$(dpkg --print-architecture)
    log "installing the SSM and CloudWatch agents ($region, $arch)"
    curl -fsSL -o /tmp/amazon-ssm-agent.deb \
        "https://s3.$region.amazonaws.com/amazon-ssm-$region/latest/debian_$arch/amazon-ssm-agent.deb"
    curl -fsSL -o /tmp/amazon-cloudwatch-agent.deb \
        "https://amazoncloudwatch-agent-$region.s3.$region.amazonaws.com/ubuntu/$arch/latest/amazon-cloudwatch-agent.deb"
    dpkg -i /tmp/amazon-ssm-agent.deb /tmp/amazon-cloudwatch-agent.deb
    rm -f /tmp/amazon-ssm-agent.deb /tmp/amazon-cloudwatch-agent.deb
    systemctl enable --now amazon-ssm-agent
}

fetch_bundle() {
    local zip
    zip=$(mktemp --suffix=.zip)
    case "$BUNDLE_URI" in
        s3://*) aws s3 cp --only-show-errors --region "$(region)" "$BUNDLE_URI" "$zip" ;;
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

# From the bundle's wheels only: no package index at boot, and each file must match its hash
# in the lock.
create_venv() {
    log "installing requirements/serving.txt into $VENV from the bundle's wheels"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check --no-index \
        --find-links "$APP_DIR/wheels" --require-hashes --no-deps -r "$APP_DIR/requirements/serving.txt"
    # Bytecode now: the service runs with a read-only /opt (ProtectSystem=strict).
    "$VENV/bin/python" -m compileall -q -j 0 "$APP_DIR/serving" "$APP_DIR/model" > /dev/null
}

# The agent follows the app's log file into LOG_GROUP_NAME, one stream per instance. The stack
# owns the group and its retention, so the agent neither creates the group nor sets retention.
configure_log_shipping() {
    install -d -m 0755 "${LOG_FILE%/*}"
    cat > /etc/logrotate.d/one-model << EOF
$LOG_FILE {
    daily
    maxsize 100M
    rotate 3
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
EOF
    if [[ -z $LOG_GROUP_NAME ]]; then return 0; fi
    log "shipping $LOG_FILE to the log group $LOG_GROUP_NAME"
    python3 - "$LOG_FILE" "$LOG_GROUP_NAME" > "$AGENT_CONFIG" << 'EOF'
import json, sys
log_file, log_group = sys.argv[1:]
collect = {"file_path": log_file, "log_group_name": log_group, "log_stream_name": "{instance_id}"}
print(json.dumps({"logs": {"logs_collected": {"files": {"collect_list": [collect]}}}}, indent=2))
EOF
    if [[ $INSTALL_AWS_AGENTS == true ]]; then
        /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
            -c "file:$AGENT_CONFIG"
    fi
}

install_service() {
    if ! id -u "$SERVICE_USER" > /dev/null 2>&1; then
        useradd --system --user-group --home-dir "$ROOT" --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    chown -R root:root "$ROOT"
    chmod -R a+rX,go-w "$ROOT"
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
            systemctl status "$SERVICE" --no-pager --lines 0 || true
            tail -n 50 "$LOG_FILE" || true
            exit 1
        fi
        sleep 1
    done
    log "$SERVICE is ready on port $APP_PORT (user data took ${SECONDS}s)"
}

main() {
    trap on_exit EXIT
    local packages=(python3 python3-venv logrotate)
    # awscli: the s3:// bundle and the signal; curl: the metadata service and the agents.
    if [[ $BUNDLE_URI == s3://* || -n $CFN_STACK_NAME ]]; then packages+=(awscli); fi
    if [[ $BUNDLE_URI == s3://* || -n $CFN_STACK_NAME || $INSTALL_AWS_AGENTS == true ]]; then
        packages+=(curl)
    fi
    install_packages "${packages[@]}"
    if [[ $INSTALL_AWS_AGENTS == true ]]; then install_aws_agents; fi
    fetch_bundle
    create_venv
    install -d -m 0755 /etc/one-model
    configure_log_shipping
    install_service
    wait_until_ready
    signal_cloudformation SUCCESS
}

main "$@"
