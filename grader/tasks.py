"""Celery tasks for grading: thin wrappers that take IDs and call grader.grading."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from grader import grading


@shared_task(
    name="grader.grade_submission",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=30 * 60,
    time_limit=31 * 60,
)
def grade_submission(self, submission_id: int) -> str:
    """Grade one submission (queue ``grading``).

    Idempotent: a finished or already-claimed submission is skipped. Retries:
    student-code failures are results, never retried; a sandbox infrastructure
    failure retries with exponential backoff up to GRADING_MAX_RETRIES, then the
    submission is marked not gradable (no attempt charged).
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    outcome = grading.grade(submission_id, redelivered=redelivered)
    if outcome is grading.GradeOutcome.INFRA_ERROR:
        if self.request.retries >= settings.GRADING_MAX_RETRIES:
            grading.mark_not_gradable(
                submission_id, "The grading platform failed repeatedly; no attempt was charged."
            )
            return "not_gradable"
        raise self.retry(countdown=min(2**self.request.retries, 60))
    return outcome.value
