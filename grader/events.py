"""What happens once a submission is graded: a hint request, webhooks (after commit)."""

from __future__ import annotations

from grader.models import Submission


def submission_graded(submission: Submission, any_failed: bool) -> None:
    """Side effects of a graded submission, inside the grading transaction.

    A FeedbackRequest when a test failed; webhook deliveries for the course. Both are
    rows first, their Celery messages are sent on commit.
    """
    if any_failed:
        from feedback.models import Priority
        from feedback.services import request_feedback

        # Hints for a bulk regrade wait behind those a student is waiting for.
        priority = Priority.BULK if submission.regrades.exists() else Priority.INTERACTIVE
        request_feedback(submission, priority)
    from grader.webhooks import queue_deliveries

    queue_deliveries(submission)
