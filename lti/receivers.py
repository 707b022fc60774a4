"""Every change of what a student's work is worth is sent to the LMS grade columns of the
assignment (see lti.ags)."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from feedback.models import RubricScore, RubricStatus
from grading.signals import submission_scored
from lti.ags import request_passbacks


@receiver(submission_scored, dispatch_uid="lti.request_passbacks")
def on_submission_scored(sender, submission, **kwargs) -> None:
    request_passbacks(submission)


@receiver(post_save, sender=RubricScore, dispatch_uid="lti.rubric_decided")
def on_rubric_decided(sender, instance: RubricScore, **kwargs) -> None:
    # grading announces a rubric decision only when the approved points change; a rejection
    # (or an approval of 0 points) changes the grading progress all the same (PendingManual ->
    # FullyGraded), so the LMS must hear of it.
    if instance.status != RubricStatus.PENDING:
        request_passbacks(instance.submission)
