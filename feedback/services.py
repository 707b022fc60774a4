"""Feedback requests: created after grading, turned into a hint by the dispatcher."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from courses.policy import frozen_reason
from feedback.models import (
    Feedback,
    FeedbackRequest,
    Priority,
    RequestStatus,
    RubricScore,
    RubricStatus,
    Source,
)
from grading.models import Submission
from grading.signals import ScoreEvent, announce
from grading.staff import ActionRejected

log = logging.getLogger(__name__)


def request_feedback(submission: Submission, priority: int = Priority.INTERACTIVE) -> FeedbackRequest:
    """Create the pending request (idempotent) and enqueue it after commit.

    Side effects: one FeedbackRequest row; a message on queue ``feedback``.
    """
    request, _ = FeedbackRequest.objects.get_or_create(submission=submission, defaults={"priority": priority})
    transaction.on_commit(lambda: enqueue_feedback(request.pk))
    return request


def model_usage(hints: QuerySet[Feedback]) -> dict[str, Any]:
    """What the model cost for these hints: every call's tokens, including answers that ended
    as the automatic hint; latency and time to first token of the model hints shown."""
    shown = Q(source=Source.LLM)
    return hints.aggregate(
        hints=Count("id", filter=shown),
        calls=Sum("model_calls", default=0),
        prompt=Sum("prompt_tokens", default=0),
        cached=Sum("cached_tokens", default=0),
        completion=Sum("completion_tokens", default=0),
        latency=Avg("latency_seconds", filter=shown),
        ttft=Avg("ttft_seconds", filter=shown),
    )


def feedback_pending(submission: Submission) -> bool:
    """True while a hint for ``submission`` may still arrive."""
    return FeedbackRequest.objects.filter(
        submission=submission,
        status__in=[RequestStatus.PENDING, RequestStatus.IN_PROGRESS, RequestStatus.CHECKING],
    ).exists()


def enqueue_feedback(request_id: int) -> None:
    """Wake a dispatcher; the request itself is claimed from the database in a batch."""
    try:
        # By name: the task module imports the dispatcher, which imports this one.
        current_app.send_task("feedback.dispatch")
    except Exception:  # noqa: BLE001 - the pending row stays; the periodic dispatch finds it
        log.exception("could not enqueue feedback", extra={"feedback_request_id": request_id})


def recount_rubric(submission: Submission) -> bool:
    """Keep the submission's rubric_points equal to its approved rubric scores; when they change,
    announce it (the score changed: webhooks, LMS). Returns whether they changed."""
    approved = RubricScore.objects.filter(submission=submission, status=RubricStatus.APPROVED)
    total = sum((s.points for s in approved), Decimal(0))
    changed = (
        Submission.objects.filter(pk=submission.pk).exclude(rubric_points=total).update(rubric_points=total)
    )
    if changed:
        announce(Submission.objects.get(pk=submission.pk), ScoreEvent.RUBRIC_DECIDED)
    return bool(changed)


def do_decide_rubric(score: RubricScore, approve: bool, by) -> RubricScore:
    """An instructor or TA approves (it counts) or rejects (it does not) the model's rubric score.
    Side effects: the score's status and the submission's rubric_points, atomically. Raises
    ActionRejected (nothing changed) while the assignment's grades are frozen (archived)."""
    reason = frozen_reason(score.submission.assignment)
    if reason:
        raise ActionRejected(reason)
    with transaction.atomic():
        locked = RubricScore.objects.select_for_update().get(pk=score.pk)
        locked.status = RubricStatus.APPROVED if approve else RubricStatus.REJECTED
        locked.decided_by, locked.decided_at = by, timezone.now()
        locked.save()
        recount_rubric(locked.submission)
    return locked
