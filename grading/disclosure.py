"""What a student may learn from one test result: the single rule every surface calls.

Student code can encode a hidden test's arguments in anything it does while that test runs:
the exception it raises (type, message, line), what it prints, how long it takes. So for a
hidden test a student, and the model writing the student's hint, get the test's name and a
coarse outcome (passed / failed / error / timeout / memory / crashed) with its points, and
nothing the code produced, unless the assignment's ``show_hidden_details`` is on. Staff see
everything.

Surfaces that call this: the submission page and its live part (grading.presentation), the
REST API (api.serializers), automatic hints and the model's prompt (feedback). Webhooks and
grade passback carry scores only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# The fields of a result that come from running the student's code (or describe the hidden
# test's input); blanked for a hidden test unless details are shown.
PRODUCED_BY_THE_CODE = (
    "message",
    "test_input",
    "expected",
    "actual",
    "stdout",
    "stderr",
    "stdout_truncated",
    "stderr_truncated",
    "error",
    "duration",
    "cases",
)
BLANK = {"message": "", "test_input": "", "stdout": "", "stderr": "", "cases": []}


def shows_details(visible: bool, show_hidden_details: bool, is_staff: bool = False) -> bool:
    """May the viewer see what the code produced in this test?"""
    return bool(visible or show_hidden_details or is_staff)


def student_safe(result: Mapping, show_hidden_details: bool) -> dict:
    """``result`` (a dict of TestResult fields) as a student may see it."""
    safe = dict(result)
    if shows_details(safe.get("visible", False), show_hidden_details):
        return safe
    for field in PRODUCED_BY_THE_CODE:
        if field in safe:
            safe[field] = BLANK.get(field)
    return safe


def students_view(results: Iterable[Mapping], show_hidden_details: bool) -> list[dict]:
    return [student_safe(r, show_hidden_details) for r in results]


def line_in_file(line: object, text: str) -> int | None:
    """A line number shown to a student must be a line of their own file: anything else
    (a number from a hidden test's traceback, a model's guess past the end) is dropped."""
    if type(line) is not int or line < 1:
        return None
    return line if line <= max(1, len(text.splitlines())) else None
