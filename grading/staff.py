"""Instructor actions on grades: overrides and bulk regrades."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import transaction

from courses.models import Assignment
from courses.policy import frozen_reason
from grading.models import RegradeRun, ScoreOverride, Status, Submission, TrialPurpose, TrialRun
from grading.services import LOWEST_PRIORITY, enqueue_grading, enqueue_trial
from grading.signals import ScoreEvent, announce, announce_requeued
from grading.states import transition

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)


class ActionRejected(Exception):
    """The action is not allowed or its input is wrong; the message says why. Nothing changed."""


def do_override_score(submission: Submission, score: object, reason: str, by: User) -> ScoreOverride:
    """Set a graded submission's score by hand. Side effects: a ScoreOverride audit row and
    the submission's override_score, atomically. No retries (a plain database write)."""
    reason = (reason or "").strip()
    _refuse_if_frozen(submission.assignment)
    if not reason:
        raise ActionRejected("An override needs a reason (it is kept in the audit trail).")
    try:
        value = Decimal(str(score)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ActionRejected(f"{score!r} is not a number.") from None
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.status != Status.GRADED:
            raise ActionRejected("Only a graded submission can have its score overridden.")
        if locked.not_an_attempt:
            raise ActionRejected(
                "This code does not run, and the assignment does not count such code: the "
                "submission has no score to override. (The assignment's settings can make it count.)"
            )
        if value < 0 or (locked.max_score is not None and value > locked.max_score):
            raise ActionRejected(f"The score must be between 0 and {locked.max_score}.")
        override = ScoreOverride.objects.create(
            submission=locked, score=value, previous_score=locked.final_score, reason=reason, by=by
        )
        locked.override_score = value
        locked.save(update_fields=["override_score"])
        announce(locked, ScoreEvent.OVERRIDDEN)
    log.info("score overridden", extra={"submission_id": submission.pk})
    return override


def _refuse_if_frozen(assignment: Assignment) -> None:
    reason = frozen_reason(assignment)
    if reason:
        raise ActionRejected(reason)


def _requeue(ids: list[int], queue: str = "grading", priority: int | None = None) -> None:
    """Inside a transaction: announce that these submissions are being graded again (their
    hints are dropped by the feedback app), and send their grading messages once it commits."""
    announce_requeued(ids)

    def send() -> None:
        for pk in ids:
            enqueue_grading(pk, queue=queue, priority=priority)

    transaction.on_commit(send)


def do_regrade_submission(submission_id: int, by: User) -> None:
    """Grade one finished submission again, now (an instructor is watching: the ordinary grading
    queue). Side effects: the submission back to queued, its old hint dropped, one message after
    commit. Overrides are kept."""
    with transaction.atomic():
        submission = Submission.objects.select_related("assignment").filter(pk=submission_id).first()
        if submission is None or not submission.assignment.tests.exists():
            raise ActionRejected("The assignment has no tests; add tests before regrading.")
        _refuse_if_frozen(submission.assignment)
        finished = [Status.GRADED, Status.ERROR]
        # A regrade is a new run: it gets a fresh retry budget.
        if not transition(
            submission_id, Status.QUEUED, allowed_from=finished, detail=f"regrade by {by}", infra_failures=0
        ):
            raise ActionRejected("This submission is still being graded; regrade it once it is finished.")
        _requeue([submission_id])


def do_regrade_assignment(assignment_id: int, by: User) -> RegradeRun:
    """Queue every finished submission of the assignment again, on the low-priority ``regrading``
    queue. Side effects: a RegradeRun, each submission back to queued (its old hint dropped),
    one message per submission after commit. Overrides are kept."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
        if assignment is None:
            raise ActionRejected("This assignment no longer exists; there is nothing to regrade.")
        _refuse_if_frozen(assignment)
        if not assignment.tests.exists():
            raise ActionRejected("The assignment has no tests; add tests before regrading.")
        run = RegradeRun.objects.create(assignment=assignment, requested_by=by)
        ids = []
        for pk in assignment.submissions.filter(status__in=[Status.GRADED, Status.ERROR]).values_list(
            "pk", flat=True
        ):
            if transition(
                pk,
                Status.QUEUED,
                allowed_from=[Status.GRADED, Status.ERROR],
                detail="regrade",
                infra_failures=0,
            ):
                ids.append(pk)
        run.submissions.set(ids)
        _requeue(ids, queue="regrading", priority=LOWEST_PRIORITY)
    return run


def request_reference_check(assignment: Assignment, by: User) -> TrialRun:
    """Queue the assignment's tests against its reference solution on the grading queue; the
    page follows the TrialRun. Raises ActionRejected when there is nothing to run."""
    if not assignment.reference_files:
        raise ActionRejected("Add a reference solution first.")
    if not assignment.tests.exists():
        raise ActionRejected("Add tests first.")
    with transaction.atomic():
        trial = TrialRun.objects.create(
            assignment=assignment,
            purpose=TrialPurpose.REFERENCE,
            files=assignment.reference_files,
            requested_by=by,
        )
        transaction.on_commit(lambda: enqueue_trial(trial.pk, priority=0))
    return trial
