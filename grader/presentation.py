"""What a viewer may see of a submission's results."""

from __future__ import annotations

from dataclasses import dataclass

from grader.models import Submission, TestResult


@dataclass(frozen=True)
class ResultView:
    result: TestResult
    detailed: bool  # False: name, outcome and points only (a hidden test, seen by a student)


def results_for_viewer(submission: Submission, is_staff: bool) -> list[ResultView]:
    show_hidden = is_staff or submission.assignment.show_hidden_details
    return [ResultView(r, r.visible or show_hidden) for r in submission.results.all()]
