"""Grading one submission: claim it, run the sandbox, store results and the score."""

from __future__ import annotations

import enum
import functools
import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

import sandbox
from grader import scoring
from grader.models import Status, Submission, TestResult
from sandbox import image as sandbox_image
from sandbox.pool import WarmPool

log = logging.getLogger(__name__)


class GradeOutcome(enum.Enum):
    GRADED = "graded"
    SKIPPED = "skipped"  # someone else has it, or it is already finished
    INFRA_ERROR = "infra_error"  # put back in the queue; the task retries


@functools.cache
def image_tag() -> str:
    return settings.SANDBOX_IMAGE or sandbox_image.image_tag(settings.SANDBOX_BASE_IMAGE)


@functools.cache
def container_pool() -> WarmPool | None:
    """This process's pool of pre-started containers (created lazily: after Celery forks)."""
    return WarmPool(size=settings.SANDBOX_POOL_SIZE) if settings.SANDBOX_POOL_SIZE else None


def close_pool() -> None:
    if container_pool.cache_info().currsize and container_pool() is not None:
        container_pool().close()
    container_pool.cache_clear()


def build_job(submission: Submission) -> sandbox.Job:
    assignment = submission.assignment
    return sandbox.Job(
        files=submission.files,
        module=assignment.module_name,
        setup_code=assignment.setup_code,
        tests=[t.to_sandbox() for t in assignment.tests.all()],
        limits=assignment.sandbox_limits(),
    )


def claim(submission_id: int, redelivered: bool) -> bool:
    """queued -> running, atomically. A redelivered message (the worker that had it died)
    may also take back a submission left in running."""
    claimable = Q(status=Status.QUEUED) | (Q(status=Status.RUNNING) if redelivered else Q(pk__in=[]))
    count = Submission.objects.filter(claimable, pk=submission_id).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    return count == 1


def grade(submission_id: int, redelivered: bool = False) -> GradeOutcome:
    """Run the submission's tests and store the results.

    Side effects: TestResult rows, the score, status graded; a FeedbackRequest when a
    test failed. An infrastructure failure puts the submission back to queued (no
    attempt charged) and returns INFRA_ERROR for the caller to retry.
    """
    if not claim(submission_id, redelivered):
        return GradeOutcome.SKIPPED
    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    tests = {f"t{t.pk}": t for t in submission.assignment.tests.all()}
    if not tests:
        mark_not_gradable(submission_id, "The assignment has no tests yet.")
        return GradeOutcome.GRADED
    result = sandbox.run(build_job(submission), image_tag(), pool=container_pool())
    if result.status != sandbox.RunStatus.OK:
        Submission.objects.filter(pk=submission_id, status=Status.RUNNING).update(
            status=Status.QUEUED, error_message=result.message[:2000], infra_failures=F("infra_failures") + 1
        )
        log.warning("sandbox infrastructure error", extra={"submission_id": submission_id})
        return GradeOutcome.INFRA_ERROR
    record_result(submission, tests, result)
    return GradeOutcome.GRADED


@transaction.atomic
def record_result(submission: Submission, tests: dict, result: sandbox.Result) -> None:
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.status != Status.RUNNING:
        return  # a concurrent run (redelivery) already recorded it
    locked.results.all().delete()
    rows = TestResult.objects.bulk_create(
        [_result_row(locked, tests[report.id], index, report) for index, report in enumerate(result.tests)]
    )
    raw = sum((row.points_earned for row in rows), Decimal("0"))
    locked.raw_score = raw
    locked.score = scoring.apply_penalty(raw, locked.late_penalty_percent)
    locked.max_score = sum((row.points for row in rows), Decimal("0"))
    locked.status = Status.GRADED
    locked.graded_at = timezone.now()
    locked.sandbox_seconds = result.duration
    locked.error_message = ""
    locked.save()
    if any(r.outcome != sandbox.Outcome.PASSED for r in result.tests):
        from feedback.services import request_feedback

        request_feedback(locked)


def _result_row(submission, test_case, index, report) -> TestResult:
    return TestResult(
        submission=submission,
        test_case=test_case,
        name=test_case.name,
        visible=test_case.visible,
        test_input=test_case.input_text,
        order=index,
        outcome=report.outcome.value,
        points=test_case.points,
        points_earned=test_case.points if report.outcome == sandbox.Outcome.PASSED else Decimal("0"),
        duration=report.duration,
        message=report.message,
        expected=report.expected,
        actual=report.actual,
        stdout=report.stdout,
        stderr=report.stderr,
        error=report.error.model_dump() if report.error else None,
    )


def mark_not_gradable(submission_id: int, message: str) -> None:
    """Give up after repeated platform failures: status error, which costs no attempt."""
    Submission.objects.filter(pk=submission_id).exclude(status=Status.GRADED).update(
        status=Status.ERROR, error_message=message[:2000], graded_at=timezone.now()
    )
