"""Feedback requests: created after grading, turned into a hint by the dispatcher."""

from __future__ import annotations

import logging

from django.db import transaction

from feedback import fallback
from feedback.models import Feedback, FeedbackRequest, Priority, RequestStatus, Source
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
    from feedback.tasks import generate_feedback

    try:
        generate_feedback.delay(request_id)
    except Exception:  # noqa: BLE001 - the pending row stays for the dispatcher
        log.exception("could not enqueue feedback", extra={"feedback_request_id": request_id})


def generate_feedback(request_id: int) -> bool:
    """Turn a pending request into a Feedback row. Returns False if someone else has it.

    Today the hint comes from the deterministic fallback (see feedback.fallback); the
    model-backed dispatcher replaces this step and keeps the fallback for outages.
    """
    claimed = FeedbackRequest.objects.filter(pk=request_id, status=RequestStatus.PENDING).update(
        status=RequestStatus.IN_PROGRESS
    )
    if claimed != 1:
        return False
    request = FeedbackRequest.objects.select_related("submission").get(pk=request_id)
    results = list(
        request.submission.results.values(
            "name", "visible", "outcome", "expected", "actual", "message", "error"
        )
    )
    hint = fallback.build_hint(results)
    with transaction.atomic():
        if hint is not None:
            Feedback.objects.update_or_create(
                submission=request.submission,
                defaults={
                    "hint": hint.text,
                    "line": hint.line,
                    "concept": hint.concept,
                    "source": Source.FALLBACK,
                },
            )
        request.status = RequestStatus.DONE
        request.tries += 1
        request.save(update_fields=["status", "tries", "updated_at"])
    return True
