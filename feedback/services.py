"""Feedback requests: created after grading, turned into a hint by the dispatcher."""

from __future__ import annotations

import logging

from django.db import transaction

from feedback.models import FeedbackRequest, Priority, RequestStatus
from grader.models import Submission

log = logging.getLogger(__name__)


def request_feedback(submission: Submission, priority: int = Priority.INTERACTIVE) -> FeedbackRequest:
    """Create the pending request (idempotent) and enqueue it after commit.

    Side effects: one FeedbackRequest row; a message on queue ``feedback``.
    """
    request, _ = FeedbackRequest.objects.get_or_create(submission=submission, defaults={"priority": priority})
    transaction.on_commit(lambda: enqueue_feedback(request.pk))
    return request


def feedback_pending(submission: Submission) -> bool:
    """True while a hint for ``submission`` may still arrive."""
    return FeedbackRequest.objects.filter(
        submission=submission, status__in=[RequestStatus.PENDING, RequestStatus.IN_PROGRESS]
    ).exists()


def enqueue_feedback(request_id: int) -> None:
    """Wake a dispatcher; the request itself is claimed from the database in a batch."""
    from feedback.tasks import dispatch

    try:
        dispatch.delay()
    except Exception:  # noqa: BLE001 - the pending row stays; the periodic dispatch finds it
        log.exception("could not enqueue feedback", extra={"feedback_request_id": request_id})
