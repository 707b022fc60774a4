"""The static checks (grading.static_checks) applied to an assignment: its public interface,
and the findings for a set of files. Reading only: nothing is executed."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from courses.models import Assignment, SetupScope, TestCase, TestKind
from grading.static_checks import Finding, Interface, check, interface_of


def interface_for(assignment: Assignment, tests: Iterable[TestCase] | None = None) -> Interface:
    """The functions the tests call, as far as the public text (statement, visible tests,
    starter files) names them; whether tests import the module; the setup's module names.
    ``tests``: the assignment's tests when the caller has them already (else they are read)."""
    tests = list(assignment.tests.all() if tests is None else tests)
    public = "\n".join(
        [
            assignment.statement,
            *(t.input_text for t in tests if t.visible),
            *assignment.starter_files.values(),
        ]
    )
    imports_module = any(t.kind in (TestKind.EXPR, TestKind.PYTEST) for t in tests)
    module_globals: frozenset[str] = frozenset()
    if assignment.setup_code and assignment.setup_scope == SetupScope.MODULE:
        module_globals = _bound(assignment.setup_code)
    return interface_of(
        assignment.reference_files.get(assignment.main_file), public, imports_module, module_globals
    )


def findings_for(
    assignment: Assignment, files: dict[str, str], tests: Iterable[TestCase] | None = None
) -> list[Finding]:
    return check(files, assignment.main_file, interface_for(assignment, tests))


def _bound(code: str) -> frozenset[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)
