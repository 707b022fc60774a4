"""Every score change the grading app announces becomes one delivery per active webhook."""

from __future__ import annotations

from django.dispatch import receiver

from grading.signals import ScoreEvent, submission_scored
from webhooks.services import queue_deliveries


@receiver(submission_scored, dispatch_uid="webhooks.queue_deliveries")
def on_submission_scored(sender, submission, event: ScoreEvent, **kwargs) -> None:
    queue_deliveries(submission, event)
