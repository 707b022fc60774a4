"""What a viewer may see of a submission, and how it is shown: results with expected-vs-actual
diffs, code listings with syntax highlighting and the hint's line marked, diffs between attempts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, TextLexer

from grading.disclosure import shows_details
from grading.models import Submission, TestResult

DiffLine = tuple[str, str]  # (add | remove | context | hunk, text)


@dataclass(frozen=True)
class ResultView:
    result: TestResult
    detailed: bool  # False: name, outcome and points only (a hidden test, seen by a student)

    @cached_property
    def diff(self) -> list[DiffLine]:
        """Expected vs actual, line by line, when both are shown and they differ."""
        r = self.result
        if not self.detailed or r.expected is None or r.actual is None or r.outcome == "passed":
            return []
        return text_diff(r.expected, r.actual, "expected", "got")

    @property
    def whitespace_only(self) -> bool:
        r = self.result
        return bool(self.diff) and "".join(r.expected.split()) == "".join(r.actual.split())


def results_for_viewer(submission: Submission, is_staff: bool) -> list[ResultView]:
    """Each result with whether the viewer may see its details (grading.disclosure's rule; the
    template shows a hidden test's name, outcome and points otherwise)."""
    shown = submission.assignment.show_hidden_details
    return [ResultView(r, shows_details(r.visible, shown, is_staff)) for r in submission.results.all()]


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
