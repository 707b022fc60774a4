"""The set-up script is idempotent: run again, it installs and starts nothing."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_a_second_run_changes_nothing():
    # The test command already ran the script once; everything is in place.
    result = subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for step in (
        "Debian packages",
        "Python dependencies",
        "PostgreSQL",
        "database role",
        "database grader",
        "Redis",
        "Docker Engine",
        "sandbox image",
        "migrations",
        "LTI signing key",
    ):
        assert any(line.startswith(f"[setup] {step}") and line.endswith(": ok") for line in lines), (
            step,
            lines,
        )
    acting = [
        line
        for line in lines
        if any(w in line for w in ("installing", "creating", "starting", "building", "applying"))
    ]
    assert acting == []
