"""Celery tasks for grading: thin wrappers that take IDs and call services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from grader import grading, sweeper, webhooks


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
    """Grade one submission (queue ``grading``, or ``regrading`` for bulk regrades).

    Idempotent: a finished or already-claimed submission is skipped. Retries:
    student-code failures are results, never retried; a sandbox infrastructure
    failure retries with exponential backoff up to GRADING_MAX_RETRIES, then the
    submission is marked not gradable (no attempt charged). A worker killed mid-run
    requeues the message (acks_late + reject_on_worker_lost) and the redelivery
    takes the submission back; the dead run's results can no longer be recorded.
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


@shared_task(name="grader.sweep_stuck")
def sweep_stuck() -> dict:
    """Periodic (beat): re-enqueue submissions stuck in queued or running. Idempotent."""
    return sweeper.sweep()


@shared_task(
    name="grader.deliver_webhook",
    bind=True,
    acks_late=True,
    autoretry_for=(webhooks.DeliveryFailed,),
    retry_backoff=1,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_webhook(self, delivery_id: int) -> bool:
    """POST one webhook delivery. Retries on a non-2xx answer or a network error with
    exponential backoff (1 s, 2 s, 4 s... up to 10 min, jittered), 8 times, then gives up
    (status failed, visible in the admin's delivery log)."""
    if self.request.retries >= self.max_retries:
        try:
            return webhooks.deliver(delivery_id)
        except webhooks.DeliveryFailed:
            webhooks.give_up(delivery_id)
            return False
    return webhooks.deliver(delivery_id)
