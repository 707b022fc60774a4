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


def test_the_layers_hold():
    """import-linter's contracts (.importlinter): project -> pages -> API -> {feedback,
    webhooks} -> grading -> courses -> sandbox, and nothing the other way; a new cycle fails."""
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    run = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_a_late_import_of_the_platform_is_found(tmp_path):
    """The rule sees an import hidden inside a function, and lets AppConfig.ready() connect signals."""
    hidden = "def grade():\n    from feedback.services import request_feedback\n"
    ready = "class C:\n    def ready(self):\n        from feedback import receivers\n"
    assert lint_rules.late_imports(Path("grading/run.py"), hidden)
    assert not lint_rules.late_imports(Path("feedback/apps.py"), ready)
    assert lint_rules.late_imports(Path("feedback/services.py"), ready)


def test_the_typed_modules_type_check():
    """mypy with django-stubs (settings in pyproject.toml) on the modules scripts/typecheck.sh
    lists: the sandbox and its harness, the LLM client and its controls, the grading services."""
    import subprocess

    root = Path(__file__).parent.parent
    run = subprocess.run(["bash", "scripts/typecheck.sh"], cwd=root, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found" in run.stdout
