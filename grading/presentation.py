"""What a viewer may see of a submission, and how it is shown: results with expected-vs-actual
diffs, code listings with syntax highlighting and the hint's line marked, diffs between attempts."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, TextLexer

from grading.disclosure import shows_details
from grading.models import Outcome, Submission, TestResult

DiffLine = tuple[str, str]  # (add | remove | context | hunk, text)

# A long text is shown cut: its first lines, and the rest behind "Show all N lines" (a <details>,
# so it needs no script). Only the display is cut; what is stored stays whole. Stored texts are
# bounded (expected and got by the harness, printed output by the assignment's output limit,
# 64 KB by default), yet a page of many tests could add up to megabytes: one text carries at
# most MAX_SENT characters, and all the folded-away rests of a page at most PAGE_BUDGET.
WHOLE_LINES, WHOLE_CHARS = 30, 3_000  # up to this, a text is shown whole
HEAD_LINES, HEAD_CHARS = 20, 2_000  # beyond it, the head shown before "Show all"
MAX_SENT = 100_000
FOLD_LINES = 8  # longer expected and got values are folded behind their diff
MAX_DIFF_LINES = 1_000  # of a diff, sent at most
PAGE_BUDGET = 400_000


def outcome_label(outcome: str) -> str:
    """The words for a test's outcome ("passed" → "Passed"): the one mapping every page uses,
    from the model's choices (raw codes stay in the API, CSS classes and data attributes)."""
    try:
        return str(Outcome(outcome).label)
    except ValueError:
        return str(outcome)


class Budget:
    """Characters of folded-away text one page may still carry; shared by its results, in the
    order they are shown (failing tests first)."""

    def __init__(self, chars: int = PAGE_BUDGET) -> None:
        self.left = chars

    def take(self, wanted: int) -> int:
        granted = max(0, min(wanted, self.left))
        self.left -= granted
        return granted


@dataclass(frozen=True)
class Clipped:
    """A text as a page shows it: ``head`` always, ``rest`` behind an expand control, and
    ``left_out`` characters at the end not sent at all."""

    head: str
    rest: str = ""
    lines: int = 0  # of the whole text
    chars: int = 0
    left_out: int = 0

    @property
    def cut(self) -> bool:
        return bool(self.rest or self.left_out)

    @property
    def more(self) -> str:
        """The expand control's words."""
        if self.left_out:
            return f"Show more ({len(self.head) + len(self.rest):,} of {self.chars:,} characters)"
        if self.lines > WHOLE_LINES:
            return f"Show all {self.lines:,} lines"
        return f"Show all {self.chars:,} characters"

    @property
    def note(self) -> str:
        return f"The last {self.left_out:,} characters are not shown here." if self.left_out else ""


def clip(text: str, budget: Budget | None = None) -> Clipped:
    """``text`` cut for display when it is longer than WHOLE_LINES lines or WHOLE_CHARS characters."""
    lines = len(text.splitlines())
    if lines <= WHOLE_LINES and len(text) <= WHOLE_CHARS:
        return Clipped(text, lines=lines, chars=len(text))
    # The first HEAD_LINES lines, within HEAD_CHARS; cut inside a line only when one is very long.
    end = taken = 0
    while taken < HEAD_LINES:
        newline = text.find("\n", end)
        if newline < 0 or newline >= HEAD_CHARS:
            break
        end, taken = newline + 1, taken + 1
    if taken < HEAD_LINES and end < HEAD_CHARS // 2:
        end = HEAD_CHARS
    wanted = min(len(text), MAX_SENT) - end
    sent = end + (budget.take(wanted) if budget else wanted)
    return Clipped(text[:end], text[end:sent], lines=lines, chars=len(text), left_out=len(text) - sent)


@dataclass(frozen=True)
class ClippedDiff:
    """A diff as a page shows it: its first lines, the rest behind an expand control."""

    head: list[DiffLine]
    rest: list[DiffLine]
    left_out: int = 0  # lines at the end not sent

    @property
    def cut(self) -> bool:
        return bool(self.rest or self.left_out)

    @property
    def lines(self) -> int:
        return len(self.head) + len(self.rest) + self.left_out

    @property
    def more(self) -> str:
        if self.left_out:
            return (
                f"Show more ({len(self.head) + len(self.rest):,} of {self.lines:,} lines of the difference)"
            )
        return f"Show all {self.lines:,} lines of the difference"

    @property
    def note(self) -> str:
        return f"The last {self.left_out:,} lines are not shown here." if self.left_out else ""


def clip_diff(tagged: list[DiffLine], budget: Budget | None = None) -> ClippedDiff:
    if len(tagged) <= WHOLE_LINES and sum(len(text) for _, text in tagged) <= WHOLE_CHARS:
        return ClippedDiff(tagged, [])
    head: list[DiffLine] = []
    size = 0
    for kind, text in tagged[:HEAD_LINES]:
        if head and size + len(text) > HEAD_CHARS:
            break
        head.append((kind, text if len(text) <= HEAD_CHARS else text[:HEAD_CHARS] + "…"))
        size += len(text)
    rest: list[DiffLine] = []
    for kind, text in tagged[len(head) : len(head) + MAX_DIFF_LINES]:
        size += len(text)
        if size > MAX_SENT or (budget and budget.take(len(text) + 30) < len(text) + 30):
            break  # 30: the markup around each line
        rest.append((kind, text))
    return ClippedDiff(head, rest, len(tagged) - len(head) - len(rest))


@dataclass(frozen=True)
class Value:
    title: str
    part: str  # input | expected | got
    id: str
    text: Clipped


@dataclass(frozen=True)
class ResultView:
    """One test's result as a page shows it: a TestResult, or a row of a reference check."""

    name: str
    visible: bool
    outcome: str
    detailed: bool  # False: name, outcome and points only (a hidden test, seen by a student)
    key: str  # unique on the page: the ids of its expandable parts
    points: object = None
    points_earned: object = None
    message: str = ""
    test_input: str = ""
    expected: str | None = None
    actual: str | None = None
    stdout: str = ""
    stderr: str = ""
    error: dict | None = None
    budget: Budget | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, result: TestResult, detailed: bool, budget: Budget | None = None) -> ResultView:
        fields: dict[str, Any] = dict(points=result.points, points_earned=result.points_earned, budget=budget)
        if detailed:
            fields.update(
                message=result.message,
                test_input=result.test_input,
                expected=result.expected,
                actual=result.actual,
                stdout=result.stdout,
                stderr=result.stderr,
                error=result.error,
            )
        return cls(result.name, result.visible, result.outcome, detailed, f"r{result.pk}", **fields)

    @classmethod
    def of_trial(cls, row: dict, index: int, budget: Budget | None = None) -> ResultView:
        """A row of TrialRun.results (staff only: every detail)."""
        return cls(
            str(row.get("name", "")),
            bool(row.get("visible")),
            str(row.get("outcome", "")),
            True,
            f"t{index}",
            points=row.get("points"),
            message=row.get("message") or "",
            expected=row.get("expected"),
            actual=row.get("actual"),
            error=row.get("error"),
            budget=budget,
        )

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.PASSED

    @property
    def label(self) -> str:
        return outcome_label(self.outcome)

    @cached_property
    def input(self) -> Value | None:
        return (
            Value("Input", "input", f"{self.key}-input", clip(self.test_input, self.budget))
            if self.test_input
            else None
        )

    @cached_property
    def values(self) -> list[Value]:
        """What was expected and what the code gave, when there is a value to show."""
        values = [("Expected", "expected", self.expected), ("Got", "got", self.actual)]
        return [
            Value(title, part, f"{self.key}-{part}", clip(text, self.budget))
            for title, part, text in values
            if text is not None
        ]

    @property
    def shown(self) -> bool:
        return bool(self.input or self.values)

    @property
    def fold_values(self) -> bool:
        """Long values with a diff: the diff says what differs; the values in full are folded."""
        return bool(self.diff) and any(v.text.cut or v.text.lines > FOLD_LINES for v in self.values)

    @cached_property
    def printed(self) -> Clipped | None:
        """What the code printed, when that is not already shown as what it got."""
        if not self.stdout or self.stdout == self.actual:
            return None
        return clip(self.stdout, self.budget)

    @cached_property
    def error_output(self) -> Clipped | None:
        return clip(self.stderr, self.budget) if self.stderr else None

    @cached_property
    def diff(self) -> ClippedDiff | None:
        """Expected vs actual, line by line, when both are shown and they differ: for values of
        several lines, or where only whitespace differs (the diff makes it visible). Two values
        of one line each say it all side by side."""
        if self.passed or self.expected is None or self.actual is None:
            return None
        one_line = "\n" not in self.expected.strip("\n") and "\n" not in self.actual.strip("\n")
        if one_line and not self.whitespace_only:
            return None
        tagged = text_diff(self.expected[:MAX_SENT], self.actual[:MAX_SENT], "expected", "got")
        return clip_diff(tagged, self.budget) if tagged else None

    @property
    def whitespace_only(self) -> bool:
        expected, actual = self.expected or "", self.actual or ""
        return expected != actual and "".join(expected.split()) == "".join(actual.split())


@dataclass(frozen=True)
class ResultList:
    """A submission's (or a reference check's) results: failing tests first, each shown whole;
    passing tests after them, folded away (they are rarely what the reader came for)."""

    views: list[ResultView]

    def __bool__(self) -> bool:
        return bool(self.views)

    def __len__(self) -> int:
        return len(self.views)

    def __iter__(self) -> Iterator[ResultView]:
        return iter(self.views)

    @property
    def failing(self) -> list[ResultView]:
        return [v for v in self.views if not v.passed]

    @property
    def passing(self) -> list[ResultView]:
        return [v for v in self.views if v.passed]

    @property
    def passing_summary(self) -> str:
        n = len(self.passing)
        if n == len(self.views):
            return f"All {n} tests passed" if n > 1 else "The test passed"
        return f"{n} test{'s' if n != 1 else ''} passed"


def results_for_viewer(submission: Submission, is_staff: bool) -> ResultList:
    """Each result with whether the viewer may see its details (grading.disclosure's rule: what
    the code produced in a hidden test is never put into the view for a student unless allowed)."""
    shown, budget = submission.assignment.show_hidden_details, Budget()
    return ResultList(
        [
            ResultView.of(r, shows_details(r.visible, shown, is_staff), budget)
            for r in submission.results.all()
        ]
    )


def trial_results(rows: list[dict]) -> ResultList:
    """A reference check's rows (staff see every detail)."""
    budget = Budget()
    return ResultList(
        [ResultView.of_trial(row, index, budget) for index, row in enumerate(rows) if isinstance(row, dict)]
    )


def text_diff(before: str, after: str, before_name: str, after_name: str, context: int = 2) -> list[DiffLine]:
    """A unified diff tagged per line, for an accessible listing (colour is never the only cue:
    every line keeps its +/- sign). Whitespace at line ends is made visible, as it often is the bug."""
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), before_name, after_name, lineterm="", n=context
    )
    tagged = []
    for line in list(lines)[2:]:
        kind = {"+": "add", "-": "remove", "@": "hunk"}.get(line[:1], "context")
        if kind in ("add", "remove") and line != line.rstrip():
            line = line.rstrip() + "·" * (len(line) - len(line.rstrip()))
        tagged.append((kind, line))
    return tagged


def file_diffs(before: dict, after: dict) -> list[tuple[str, list[DiffLine]]]:
    """Per file, what changed between two attempts."""
    result = []
    for name in sorted(set(before) | set(after)):
        tagged = text_diff(before.get(name, ""), after.get(name, ""), "before", "after")
        if tagged:
            result.append((name, tagged))
    return result


@dataclass(frozen=True)
class Listing:
    name: str
    html: SafeString
    anchor: str  # line n of this file is the element with id f"{anchor}-{n}"


def code_listings(files: dict[str, str], main_file: str, hint_line: int | None) -> list[Listing]:
    """Each file highlighted by Pygments (which escapes the text), with line numbers and one span
    per line; the hint's line (it refers to the main file, as the model and the fallback see it)
    is marked. The main file comes first."""
    listings = []
    ordered = sorted(files, key=lambda name: (name != main_file, name))
    for index, name in enumerate(ordered):
        anchor = f"f{index}-L"
        marked = [hint_line] if name == main_file and hint_line else []
        lexer = PythonLexer() if name.endswith(".py") else TextLexer()
        formatter = HtmlFormatter(
            linenos="table", linespans=anchor, hl_lines=marked, cssclass="highlight", wrapcode=True
        )
        listings.append(Listing(name, mark_safe(highlight(files[name], lexer, formatter)), anchor))
    return listings
