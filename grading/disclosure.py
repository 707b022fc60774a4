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

Staff pages meant to be shown to the class (the analytics' "what the class gets wrong") follow
``class_safe_kind``: for a hidden test, the outcome and a standard exception name, never a value.
"""

from __future__ import annotations

import builtins
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


# Exception names that Python itself or the sandbox's harness define. Any other name was chosen
# by the student's code, which could spell a hidden test's input in it.
STANDARD_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
) | {"AnswerTooLarge", "NotPlainData"}
OTHER_EXCEPTION = "another exception type"


def class_safe_kind(outcome_label: str, error_type: object, visible: bool) -> str:
    """A result's kind as a page projected in class may name it: the outcome's label and, for
    an error, the exception's name (for a hidden test only a standard one; otherwise
    ``OTHER_EXCEPTION``). Never a value: the caller shows values of visible tests only."""
    if not isinstance(error_type, str) or not error_type:
        return outcome_label
    if not visible and error_type not in STANDARD_EXCEPTIONS:
        return f"{outcome_label}: {OTHER_EXCEPTION}"
    return f"{outcome_label}: {error_type}"
