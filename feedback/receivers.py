"""A hint is requested when grading (or a regrade) finds a failing test; a submission graded
again loses its old hint; a hint check's trial run decides which hint the student sees."""

from __future__ import annotations

from django.dispatch import receiver

from feedback.dispatcher import check_finished
from feedback.models import Feedback, FeedbackRequest, Priority
from feedback.services import request_feedback
from grading.models import TrialPurpose, TrialRun, TrialStatus
from grading.signals import ScoreEvent, submission_requeued, submission_scored, trial_finished


@receiver(submission_scored, dispatch_uid="feedback.request_hint")
def on_submission_scored(sender, submission, event: ScoreEvent, any_failed: bool, **kwargs) -> None:
    if event not in (ScoreEvent.GRADED, ScoreEvent.REGRADED) or not any_failed:
        return
    # Hints for a bulk regrade wait behind those a student is waiting for.
    priority = Priority.BULK if submission.regrades.exists() else Priority.INTERACTIVE
    request_feedback(submission, priority)


@receiver(submission_requeued, dispatch_uid="feedback.drop_stale_hints")
def on_submission_requeued(sender, submission_ids: list[int], **kwargs) -> None:
    Feedback.objects.filter(submission_id__in=submission_ids).delete()
    FeedbackRequest.objects.filter(submission_id__in=submission_ids).delete()
    # Hint checks not started yet would check a hint that no longer exists.
    TrialRun.objects.filter(
        submission_id__in=submission_ids, purpose=TrialPurpose.HINT_CHECK, status=TrialStatus.QUEUED
    ).delete()


@receiver(trial_finished, dispatch_uid="feedback.hint_check_finished")
def on_trial_finished(sender, trial: TrialRun, **kwargs) -> None:
    if trial.purpose == TrialPurpose.HINT_CHECK:
        check_finished(trial)
