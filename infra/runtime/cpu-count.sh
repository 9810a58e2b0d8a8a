#!/bin/sh
# Print how many CPUs this process may really use, for one uvicorn worker per vCPU.
#
# `nproc` counts the CPUs we may be scheduled on, but a CPU *quota* (`docker run --cpus 1`,
# an ECS task's cpu, a systemd CPUQuota=) caps us lower without hiding any CPU: a 1-vCPU
# Fargate task can see 2. So take the smaller of nproc and the cgroup quota, rounded up.
# Works for cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us), in a container or on a VM.
set -eu

cpus=$(nproc)
quota=""
if [ -r /sys/fs/cgroup/cpu.max ]; then
    read -r limit period < /sys/fs/cgroup/cpu.max
    if [ "$limit" != "max" ]; then
        quota=$(( (limit + period - 1) / period ))
    fi
elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    limit=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
    period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    if [ "$limit" -gt 0 ]; then
        quota=$(( (limit + period - 1) / period ))
    fi
fi
if [ -n "$quota" ] && [ "$quota" -lt "$cpus" ]; then
    cpus=$quota
fi
echo "$cpus"
