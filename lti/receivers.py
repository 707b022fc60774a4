"""Every score change the grading app announces is sent to the LMS grade columns of the
assignment (see lti.ags)."""

from __future__ import annotations

from django.dispatch import receiver

from grading.signals import submission_scored
from lti.ags import request_passbacks


@receiver(submission_scored, dispatch_uid="lti.request_passbacks")
def on_submission_scored(sender, submission, **kwargs) -> None:
    request_passbacks(submission)
