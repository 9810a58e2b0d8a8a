from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from model.artifacts import MODEL_FILE
from serving import config
from serving.config import Settings, available_cpus, workers_for


def test_settings_come_from_app_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MAX_BATCH_SIZE", "64")
    monkeypatch.setenv("APP_LOG_LEVEL", "warning")

    settings = Settings()

    assert settings.max_batch_size == 64
    assert settings.log_level == "warning"
    assert settings.model_path.name == MODEL_FILE


def test_nonsense_settings_fail_at_start_not_at_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MAX_BATCH_SIZE", "0")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("rate", ["-0.1", "1.5", "half"])
def test_a_log_sample_rate_outside_0_to_1_fails_at_start(monkeypatch: pytest.MonkeyPatch, rate: str) -> None:
    monkeypatch.setenv("APP_LOG_SAMPLE_RATE", rate)
    with pytest.raises(ValidationError):
        Settings()


def test_every_request_is_logged_unless_a_sample_rate_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_LOG_SAMPLE_RATE", raising=False)
    assert Settings().log_sample_rate == 1.0
    monkeypatch.setenv("APP_LOG_SAMPLE_RATE", "0.1")
    assert Settings().log_sample_rate == 0.1


def test_the_body_limit_is_derived_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_MAX_BODY_BYTES", raising=False)
    assert Settings().max_body_bytes is None  # the app sizes it: serving.schemas.body_limit
    monkeypatch.setenv("APP_MAX_BODY_BYTES", "2048")
    assert Settings().max_body_bytes == 2048


# ---------------------------------------------------------------- the worker count (one home)
def test_one_worker_per_vcpu_a_fraction_rounded_up() -> None:
    assert workers_for(1536 / 1024) == 2  # 1,536 Fargate CPU units run 2 workers, as locally
    assert workers_for(1.0) == 1
    assert workers_for(0.25) == 1  # never none
    assert workers_for(4.0) == 4


def _cgroup(tmp_path: Path, own: str, quotas: dict[str, str]) -> tuple[Path, Path]:
    """A fake cgroup v2 tree under tmp_path: ``quotas`` maps a cgroup path to its cpu.max."""
    root = tmp_path / "cgroup"
    for path, cpu_max in quotas.items():
        directory = root / path.lstrip("/")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cpu.max").write_text(cpu_max + "\n")
    proc_self_cgroup = tmp_path / "proc-self-cgroup"
    proc_self_cgroup.write_text(f"1:cpu:/\n0::{own}\n")  # a hybrid host lists v1 lines too
    return root, proc_self_cgroup


def test_available_cpus_reads_the_cgroup_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    root, proc = _cgroup(tmp_path, "/", {"/": "150000 100000"})  # docker run --cpus 1.5

    assert available_cpus(root, proc) == 1.5
    assert workers_for(available_cpus(root, proc)) == 2


def test_available_cpus_takes_the_tightest_quota_up_the_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    own = "/system.slice/one-model.service"
    root, proc = _cgroup(
        tmp_path, own, {own: "max 100000", "/system.slice": "50000 100000", "/": "max 100000"}
    )

    assert available_cpus(root, proc) == 0.5


def test_available_cpus_without_a_quota_is_the_schedulable_cpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    root, proc = _cgroup(tmp_path, "/", {"/": "max 100000"})
    assert available_cpus(root, proc) == 3.0

    no_cgroup_v2 = tmp_path / "absent"
    assert available_cpus(no_cgroup_v2, no_cgroup_v2) == 3.0


def test_a_quota_above_the_schedulable_cpus_counts_only_those(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    root, proc = _cgroup(tmp_path, "/", {"/": "400000 100000"})  # --cpus 4 on a 2-CPU host

    assert available_cpus(root, proc) == 2.0


def test_the_worker_count_comes_from_app_workers_else_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_WORKERS", raising=False)
    monkeypatch.setattr(config, "available_cpus", lambda: 1.5)  # a fraction of a CPU rounds up
    assert Settings().workers == 2
    monkeypatch.setenv("APP_WORKERS", "3")
    assert Settings().workers == 3
    monkeypatch.setenv("APP_WORKERS", "0")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(("cfs_quota_us", "expected"), [("50000", 0.5), ("-1", 3.0)])
def test_available_cpus_reads_a_cgroup_v1_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfs_quota_us: str, expected: float
) -> None:
    """Docker on a cgroup v1 host (this repo's CI) mounts the container's own cgroup at cpu/."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    cpu = tmp_path / "cgroup" / "cpu"
    cpu.mkdir(parents=True)
    (cpu / "cpu.cfs_quota_us").write_text(cfs_quota_us + "\n")
    (cpu / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("4:cpu,cpuacct:/docker/0123abcd\n")  # no "0::" line: not cgroup v2

    assert available_cpus(tmp_path / "cgroup", proc) == expected
