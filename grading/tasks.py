"""Celery tasks for grading: thin wrappers that take IDs and call services."""

from __future__ import annotations

from celery import Task, shared_task

from grading import run, sweeper
from observe import metrics


@shared_task(
    name="grader.grade_submission",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=30 * 60,
    time_limit=31 * 60,
)
def grade_submission(self: Task, submission_id: int) -> str:
    """Grade one submission (queue ``grading``, or ``regrading`` for bulk regrades).

    Idempotent: a finished or already-claimed submission is skipped. Retries:
    student-code failures are results, never retried; a sandbox infrastructure
    failure retries with exponential backoff while the submission's retry budget (in the
    database, see run.retry_budget_spent) lasts, then it is marked not gradable (no
    attempt charged). A worker killed mid-run
    requeues the message (acks_late + reject_on_worker_lost) and the redelivery
    takes the submission back; the dead run's results can no longer be recorded.
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    outcome = run.grade(submission_id, redelivered=redelivered)
    metrics.grading_task(outcome.value)
    if outcome is run.GradeOutcome.INFRA_ERROR:
        metrics.infrastructure_failure("task")
        if run.retry_budget_spent(submission_id):
            run.mark_not_gradable(submission_id, run.GAVE_UP)
            metrics.grading_task("not_gradable")
            return "not_gradable"
        metrics.GRADING_RETRIES.inc()
        raise self.retry(countdown=run.retry_delay(submission_id))
    return str(outcome.value)


@shared_task(
    name="grader.run_trial",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    soft_time_limit=30 * 60,
    time_limit=31 * 60,
)
def run_trial(self: Task, trial_id: int) -> str:
    """Run a reference check or a hint check (queue ``grading``), with the same retry budget
    in the database as a submission."""
    outcome = run.run_trial(trial_id)
    if outcome is run.GradeOutcome.INFRA_ERROR:
        if run.trial_budget_spent(trial_id):
            run.give_up_trial(trial_id)
            return "error"
        raise self.retry(countdown=5)
    return str(outcome.value)


@shared_task(name="grader.sweep_stuck")
def sweep_stuck() -> dict:
    """Periodic (beat): re-enqueue submissions stuck in queued or running. Idempotent."""
    return sweeper.sweep()
