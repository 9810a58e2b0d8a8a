"""`make reference-run`: a fresh `make demo`, then its report.md, report.json and charts copied into
docs/reference-run/ with the commit they ran on. The README and docs/decision-guide.md quote their
measured figures from there (tests/loadtests/test_quoted_figures.py keeps them in agreement).

    python -m loadtests.reference_run                  # the demo's defaults
    python -m loadtests.reference_run --hold 60        # any `make demo` option
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.common.paths import REPO_ROOT
from loadtests import demo
from loadtests.comparison import say
from loadtests.report import CHARTS, STEP_CHART, markdown

REFERENCE_DIR = REPO_ROOT / "docs" / "reference-run"


def commit() -> str:
    """HEAD's short hash, marked ``-dirty`` when tracked files differ from it."""
    head = _git("rev-parse", "--short=12", "HEAD")
    return head + ("-dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def publish(report: Path, revision: str, out: Path = REFERENCE_DIR) -> Path:
    """Copy one run's report into ``out``, its paths made relative to the repo and the commit named."""
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = json.loads((report.parent / "report.json").read_text())
    data["commit"] = revision
    data["prices"]["file"] = _relative(data["prices"]["file"])
    (out / "report.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "report.md").write_text(f"Commit `{revision}`.\n\n" + markdown(data))
    step_ran = (report.parent / STEP_CHART).is_file()
    for chart in (*CHARTS, STEP_CHART) if step_ran else CHARTS:
        shutil.copyfile(report.parent / chart, out / chart)
    return out / "report.md"


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path


def main(argv: list[str] | None = None) -> Path:
    revision = commit()
    args = list(sys.argv[1:] if argv is None else argv)
    report = demo.main([*args, "--run-id", f"reference-{revision}"])
    published = publish(report, revision)
    say(f"reference run of {revision}: {published.parent}")
    return published


if __name__ == "__main__":
    main()
