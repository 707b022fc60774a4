"""The project's own lint rules (scripts/lint_rules.py) hold."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "lint_rules", Path(__file__).parent.parent / "scripts/lint_rules.py"
)
lint_rules = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lint_rules)


def test_the_rules_match_their_examples():
    lint_rules.self_check()


def test_the_code_follows_the_rules():
    assert lint_rules.violations() == []


def test_ruff_finds_nothing():
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=root, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."], cwd=root, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout
