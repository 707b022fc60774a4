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
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from grading.models import Status, Submission
from grading.run import GAVE_UP, mark_not_gradable, retry_budget_spent
from grading.services import enqueue_grading, grading_backlog
from grading.states import transition

log = logging.getLogger(__name__)


def sweep(now=None) -> dict:
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
    if requeued_running or requeued_queued:
        log.warning(
            "sweeper requeued %d running and %d queued submissions", requeued_running, requeued_queued
        )
    return {"running": requeued_running, "queued": requeued_queued}
