"""Grading's measurements that hang on its announcements (connected when the app is ready)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from grading.signals import ScoreEvent, submission_scored
from observe import metrics


@receiver(submission_scored, dispatch_uid="grading.observe_submit_to_graded")
def observe_submit_to_graded(sender, submission, event: ScoreEvent, **kwargs) -> None:
    if event != ScoreEvent.GRADED or submission.graded_at is None:
        return  # regrades, overrides and rubric decisions are not a student's wait
    seconds = (submission.graded_at - submission.submitted_at).total_seconds()
    transaction.on_commit(lambda: metrics.submission_graded(seconds))
