"""The sweeper: finds work that fell through the cracks and puts it back in line.

- running for longer than its wall-clock limit plus a grace period: its worker is gone
  (killed, host lost). Back to queued, re-enqueued, one more platform failure counted
  against the submission's retry budget (spent: not gradable, no attempt charged). The dead
  run's token no longer counts.
- queued for longer than GRADING_QUEUED_STALE_SECONDS while the grading queue is empty:
  its message was lost (broker restarted without persistence, enqueue failed while the
  broker was down). Re-enqueued; a duplicate message is harmless (the claim skips it).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from grading.models import Status, Submission, TrialRun, TrialStatus
from grading.run import GAVE_UP, give_up_trial, mark_not_gradable, retry_budget_spent, trial_budget_spent
from grading.services import enqueue_grading, enqueue_trial, grading_backlog
from grading.states import transition
from observe import metrics

log = logging.getLogger(__name__)


def sweep(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    requeued_running = 0
    grace = timedelta(seconds=settings.GRADING_RUNNING_GRACE_SECONDS)
    for sub in Submission.objects.filter(
        status=Status.RUNNING, status_changed_at__lt=now - grace
    ).select_related("assignment"):
        if sub.status_changed_at + timedelta(seconds=sub.assignment.wall_seconds) + grace > now:
            continue
        if transition(
            sub.pk,
            Status.QUEUED,
            allowed_from=[Status.RUNNING],
            where={"run_token": sub.run_token},
            detail="worker lost; requeued by the sweeper",
            infra_failures=F("infra_failures") + 1,
        ):
            if retry_budget_spent(sub.pk):
                mark_not_gradable(sub.pk, GAVE_UP)
                continue
            enqueue_grading(sub.pk)
            requeued_running += 1
    stale = Submission.objects.filter(
        status=Status.QUEUED,
        status_changed_at__lt=now - timedelta(seconds=settings.GRADING_QUEUED_STALE_SECONDS),
    ).values_list("pk", flat=True)
    requeued_queued = 0
    if stale and grading_backlog() == 0:
        for pk in stale:
            enqueue_grading(pk)
            requeued_queued += 1
    requeued_trials = _sweep_trials(now)
    metrics.swept(running=requeued_running, queued=requeued_queued, trials=requeued_trials)
    if requeued_running or requeued_queued:
        log.warning(
            "sweeper requeued %d running and %d queued submissions", requeued_running, requeued_queued
        )
    return {"running": requeued_running, "queued": requeued_queued, "trials": requeued_trials}


def _sweep_trials(now: datetime) -> int:
    """Trial runs (reference and hint checks) get the same care: a running one whose worker
    is gone goes back to queued with one more failure (spent budget: an error), and a queued
    one that waited too long is sent again (a duplicate message is skipped by the claim)."""
    requeued = 0
    grace = timedelta(seconds=settings.GRADING_RUNNING_GRACE_SECONDS)
    for trial in TrialRun.objects.filter(
        status=TrialStatus.RUNNING, status_changed_at__lt=now - grace
    ).select_related("assignment"):
        if trial.status_changed_at + timedelta(seconds=trial.assignment.wall_seconds) + grace > now:
            continue
        if TrialRun.objects.filter(
            pk=trial.pk, status=TrialStatus.RUNNING, status_changed_at=trial.status_changed_at
        ).update(status=TrialStatus.QUEUED, status_changed_at=now, infra_failures=F("infra_failures") + 1):
            if trial_budget_spent(trial.pk):
                give_up_trial(trial.pk)
                continue
            enqueue_trial(trial.pk)
            requeued += 1
    stale = list(
        TrialRun.objects.filter(
            status=TrialStatus.QUEUED,
            status_changed_at__lt=now - timedelta(seconds=settings.GRADING_QUEUED_STALE_SECONDS),
        ).values_list("pk", flat=True)
    )
    if stale and grading_backlog() == 0:  # messages waiting are probably theirs
        for pk in stale:
            enqueue_trial(pk)
            requeued += 1
    return requeued
