"""Project rules that a regex can check (in the spirit of Zulip's tools/linter_lib).

Each rule: where it applies, a pattern that must not match, and why.
Run: python scripts/lint_rules.py   (also run by tests/test_project_rules.py)
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "grader",
    "web",
    "api",
    "feedback",
    "webhooks",
    "lti",
    "grading",
    "courses",
    "sandbox",
    "observe",
    "bench",
)
# Code that may import the platform's packages inside a function: tools that configure Django
# at run time, before which no model can be imported.
LATE_IMPORTS_ALLOWED = ("bench",)

RULES = [
    {
        "name": "sandbox-is-django-free",
        "applies": lambda path: path.parts[0] == "sandbox",
        "pattern": re.compile(
            r"^\s*(from|import)\s+(django|rest_framework|courses|grader|grading|feedback|webhooks|lti|api|web)\b",
            re.M,
        ),
        "why": "sandbox/ is a plain library; Django code calls it, never the other way round",
        "bad": "from django.conf import settings",
        "good": "from sandbox.schema import Job",
    },
    {
        "name": "observe-is-django-free",
        "applies": lambda path: path.parts[0] == "observe",
        "pattern": re.compile(
            r"^\s*(from|import)\s+(django|rest_framework|courses|grader|grading|feedback|webhooks|api|web|sandbox)\b",
            re.M,
        ),
        "why": "observe/ is the bottom layer: sandbox/ and every app import it, so it imports none of them",
        "bad": "from django.conf import settings",
        "good": "from prometheus_client import Counter",
    },
    {
        "name": "docker-only-in-sandbox",
        "applies": lambda path: path.parts[0] not in ("sandbox", "tests", "bench"),
        "pattern": re.compile(r"^\s*(from|import)\s+docker\b", re.M),
        "why": "only sandbox/ talks to the Docker daemon",
        "bad": "import docker",
        "good": "import sandbox",
    },
    {
        "name": "harness-is-stdlib-only",
        "applies": lambda path: path.parts[:2] == ("sandbox", "harness"),
        "pattern": re.compile(r"^\s*(from|import)\s+(pydantic|docker|sandbox)\b", re.M),
        "why": "the harness runs inside the image, which has only the standard library (and pytest)",
        "bad": "from pydantic import BaseModel",
        "good": "import json",
    },
    {
        "name": "memberships-removed-by-the-roster",
        "applies": lambda path: path.as_posix() != "courses/roster.py" and path.parts[0] != "tests",
        "pattern": re.compile(r"(Membership\.objects|memberships)\b[^\n]*\.delete\(", re.M),
        "why": "only courses/roster.py removes people (remove_member keeps an instructor in the course)",
        "bad": "course.memberships.filter(user=user).delete()",
        "good": "remove_member(course, user)",
    },
]

# Rules for the templates (templates/ and any app's templates/).
TEMPLATE_RULES = [
    {
        "name": "one-line-template-comment",
        "pattern": re.compile(r"\{#(?:(?!#\}).)*\n"),
        "why": "Django's {# #} comment ends on its line: one left open is printed on the page "
        "(a longer comment is {% comment %} ... {% endcomment %})",
        "bad": "{# a comment\n   on two lines #}",
        "good": "{# a comment #}\n{% comment %} on\ntwo lines {% endcomment %}",
    },
]


def late_imports(relative: Path, text: str) -> list[str]:
    """Imports of the platform's own packages inside a function: the usual way to hide an
    import cycle. Allowed only in an AppConfig.ready() (Django's place to connect signals)."""
    if relative.parts[0] in LATE_IMPORTS_ALLOWED or "migrations" in relative.parts:
        return []
    found = []
    for function in ast.walk(ast.parse(text)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if function.name == "ready" and relative.name == "apps.py":
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(name.split(".")[0] in PACKAGES for name in names):
                    found.append(
                        f"{relative}:{node.lineno}: import-inside-function: import it at the top of the "
                        "module; if that makes a cycle, the dependency goes the wrong way (see .importlinter)"
                    )
    return found


def violations() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("feedback", "evalset") and len(relative.parts) > 3:
                continue  # the hint evaluation's student programs: buggy on purpose, not our code
            text = path.read_text()
            found.extend(late_imports(relative, text))
            for rule in RULES:
                if rule["applies"](relative):
                    for match in rule["pattern"].finditer(text):
                        line = text.count("\n", 0, match.start()) + 1
                        found.append(f"{relative}:{line}: {rule['name']}: {rule['why']}")
    for path in sorted({*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")}):
        text = path.read_text()
        for rule in TEMPLATE_RULES:
            for match in rule["pattern"].finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {rule['name']}: {rule['why']}")
    return found


def self_check() -> None:
    for rule in [*RULES, *TEMPLATE_RULES]:
        assert rule["pattern"].search(rule["bad"]), rule["name"]
        assert not rule["pattern"].search(rule["good"]), rule["name"]


if __name__ == "__main__":
    self_check()
    problems = violations()
    print("\n".join(problems) or "project rules: ok")
    sys.exit(1 if problems else 0)
