"""Submission state transitions: one conditional UPDATE plus an event row, atomically.

queued -> running -> graded | error | rejected; running -> queued (platform failure, lost worker).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from grading import live
from grading.models import Status, Submission, SubmissionEvent
from observe import metrics


def transition(
    submission_id: int,
    to: Status,
    *,
    allowed_from: Iterable[Status],
    detail: str = "",
    where: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move the submission to ``to`` if it is in one of ``allowed_from`` (and matches ``where``).

    Returns False, changing nothing, when another actor moved it first: that is how
    concurrent workers, redeliveries and the sweeper stay out of each other's way.
    """
    with transaction.atomic():
        updated = Submission.objects.filter(
            pk=submission_id, status__in=list(allowed_from), **(where or {})
        ).update(status=to, status_changed_at=timezone.now(), **fields)
        if updated:
            SubmissionEvent.objects.create(submission_id=submission_id, status=to, detail=detail[:500])
            transaction.on_commit(lambda: metrics.submission_moved(to.value))
            live.changed(submission_id)
    return bool(updated)


def log_created(submission: Submission) -> None:
    SubmissionEvent.objects.create(submission=submission, status=submission.status, detail="submitted")
    transaction.on_commit(lambda: metrics.submission_moved(str(submission.status)))
