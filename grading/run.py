"""Every container run of the platform: grading a submission (claim it, run the sandbox, store
its results, announce the grade) and trial runs (a reference check, a hint check), with the
retry budget both share. Runs in grading workers only."""

from __future__ import annotations

import enum
import functools
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError

import sandbox
from courses.models import Assignment, TestCase
from grading import scoring, static_checks
from grading.code_reading import findings_for
from grading.models import Status, Submission, TestResult, TrialRun, TrialStatus
from grading.signals import ScoreEvent, announce, announce_trial
from grading.states import transition
from observe import metrics
from sandbox import image as sandbox_image
from sandbox.pool import WarmPool

log = logging.getLogger(__name__)


def worker_id() -> str:
    """host:pid of this process, read at call time (Celery forks after importing this module)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class GradeOutcome(enum.Enum):
    GRADED = "graded"
    SKIPPED = "skipped"  # someone else has it, or it is already finished
    INFRA_ERROR = "infra_error"  # put back in the queue; the task retries
    REJECTED = "rejected"  # cannot be run at all; no retry, no attempt charged


@functools.cache
def image_tag() -> str:
    return settings.SANDBOX_IMAGE or sandbox_image.image_tag(settings.SANDBOX_BASE_IMAGE)


@functools.cache
def container_pool() -> WarmPool | None:
    """This process's pool of pre-started containers (created lazily: after Celery forks)."""
    if not settings.SANDBOX_POOL_SIZE:
        return None
    return WarmPool(size=settings.SANDBOX_POOL_SIZE, runtime=settings.SANDBOX_RUNTIME)


@metrics.timed_sandbox_run
def run_sandbox(job: sandbox.Job, pooled: bool = True) -> sandbox.Result:
    """Every container this platform runs goes through here: the configured image and runtime
    (runc, or gVisor's runsc), from this process's warm pool when ``pooled``."""
    pool = container_pool() if pooled else None
    return sandbox.run(job, image_tag(), pool=pool, runtime=settings.SANDBOX_RUNTIME)


def close_pool() -> None:
    pool = container_pool() if container_pool.cache_info().currsize else None
    if pool is not None:
        pool.close()
    container_pool.cache_clear()


def build_job(submission: Submission) -> sandbox.Job:
    return job_for(submission.assignment, submission.files)


def job_for(assignment: Assignment, files: dict[str, str]) -> sandbox.Job:
    """The one way to turn an assignment and files into a sandbox job: submissions, regrades,
    reference checks and hint checks all come through here. Raises ValueError (pydantic's
    ValidationError) when the files cannot be run (names, sizes)."""
    return sandbox.Job(
        files=files,
        module=assignment.module_name,
        setup_code=assignment.setup_code,
        setup_scope=assignment.setup_scope,
        equality=assignment.equality,
        tests=[t.to_sandbox() for t in assignment.tests.all()],
        limits=assignment.sandbox_limits(),
    )


def claim(submission_id: int, redelivered: bool) -> uuid.UUID | None:
    """queued -> running, with a fresh run token. A redelivered message (its worker died)
    may also take back a submission left running: that counts against the submission's
    retry budget (a run that kills its worker every time must end), and the old run's token
    no longer counts."""
    token = uuid.uuid4()
    fields: dict[str, Any] = {"started_at": timezone.now(), "run_token": token, "worker": worker_id()}
    if transition(
        submission_id,
        Status.RUNNING,
        allowed_from=[Status.QUEUED],
        detail=f"claimed by {worker_id()}",
        **fields,
    ):
        return token
    if redelivered and transition(
        submission_id,
        Status.RUNNING,
        allowed_from=[Status.RUNNING],
        detail=f"claimed by {worker_id()} (redelivered: the previous worker was lost)",
        infra_failures=F("infra_failures") + 1,
        **fields,
    ):
        if retry_budget_spent(submission_id):
            mark_not_gradable(submission_id, GAVE_UP)
            return None
        return token
    return None


# The retry budget lives in the database (Submission.infra_failures), so it survives whatever
# re-sends the grading message: Celery's own retries, a redelivery after a lost worker, the
# sweeper. Every platform failure of a run adds one; past GRADING_MAX_RETRIES the submission
# is "not gradable" (no attempt charged).
GAVE_UP = "The grading platform failed repeatedly; no attempt was charged."


def _over_budget(failures: int | None) -> bool:
    return failures is not None and failures > settings.GRADING_MAX_RETRIES


def retry_budget_spent(submission_id: int) -> bool:
    return _over_budget(
        Submission.objects.filter(pk=submission_id).values_list("infra_failures", flat=True).first()
    )


def retry_delay(submission_id: int) -> int:
    """Seconds before the next try: 1, 2, 4... up to a minute, by failures so far."""
    failures: int = (
        Submission.objects.filter(pk=submission_id).values_list("infra_failures", flat=True).first() or 1
    )
    return min(1 << min(max(0, failures - 1), 6), 60)


def grade(submission_id: int, redelivered: bool = False) -> GradeOutcome:
    """Run the submission's tests and store the results.

    Side effects: TestResult rows, the score, status graded, and the "graded" (or
    "regraded") announcement (grading.signals). An infrastructure failure puts the
    submission back to queued (no attempt charged, one failure against its retry budget)
    and returns INFRA_ERROR for the caller to retry.
    """
    token = claim(submission_id, redelivered)
    if token is None:
        return GradeOutcome.SKIPPED
    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    tests = {t.sandbox_id: t for t in submission.assignment.tests.all()}
    mine = {"run_token": token}
    findings = findings_for(submission.assignment, submission.files, tests.values()) if tests else []
    if static_checks.does_not_run(findings):
        # Python cannot read the main file: no test could run, so none is run (no container).
        recorded = record_not_run(submission_id, token, tests, findings)
        return GradeOutcome.GRADED if recorded else GradeOutcome.SKIPPED
    try:
        job = build_job(submission) if tests else None
    except ValidationError as exc:
        if keep_previous_grade(submission_id, f"The regrade could not run these files: {exc}"):
            return GradeOutcome.REJECTED
        transition(
            submission_id,
            Status.REJECTED,
            allowed_from=[Status.RUNNING],
            where=mine,
            detail="cannot be run",
            error_message=str(exc)[:2000],
            graded_at=timezone.now(),
        )
        return GradeOutcome.REJECTED
    if job is None:
        transition(
            submission_id,
            Status.ERROR,
            allowed_from=[Status.RUNNING],
            where=mine,
            detail="no tests",
            error_message="The assignment has no tests yet.",
            graded_at=timezone.now(),
        )
        return GradeOutcome.GRADED
    result = run_sandbox(job)
    if result.status != sandbox.RunStatus.OK:
        transition(
            submission_id,
            Status.QUEUED,
            allowed_from=[Status.RUNNING],
            where=mine,
            detail="platform failure: " + result.message[:200],
            error_message=result.message[:2000],
            infra_failures=F("infra_failures") + 1,
        )
        log.warning("sandbox infrastructure error", extra={"submission_id": submission_id})
        return GradeOutcome.INFRA_ERROR
    recorded = record_result(submission_id, token, tests, result, findings)
    return GradeOutcome.GRADED if recorded else GradeOutcome.SKIPPED


@transaction.atomic
def record_not_run(submission_id: int, token: uuid.UUID, tests: dict, findings: list) -> bool:
    """The code does not run: graded with no test results, zero points, and the reason. It is
    an attempt only where the assignment says so (SubmissionQuerySet.charged)."""
    locked = (
        Submission.objects.select_for_update()
        .filter(pk=submission_id, status=Status.RUNNING, run_token=token)
        .first()
    )
    if locked is None:
        return False
    TestResult.objects.filter(submission_id=submission_id).delete()
    graded_before = locked.events.filter(status=Status.GRADED).exists()
    transition(
        submission_id,
        Status.GRADED,
        allowed_from=[Status.RUNNING],
        where={"run_token": token},
        detail="the code does not run",
        raw_score=Decimal("0"),
        score=Decimal("0"),
        max_score=sum((t.points for t in tests.values()), Decimal("0")),
        graded_at=timezone.now(),
        sandbox_seconds=None,
        error_message="",
        findings=[f.as_dict() for f in findings],
        does_not_run=True,
    )
    locked.refresh_from_db()
    announce(locked, ScoreEvent.REGRADED if graded_before else ScoreEvent.GRADED, any_failed=True)
    return True


@transaction.atomic
def record_result(
    submission_id: int, token: uuid.UUID, tests: dict, result: sandbox.Result, findings: list | None = None
) -> bool:
    """Store the results if this run still holds the submission (its token is current)."""
    locked = (
        Submission.objects.select_for_update()
        .filter(pk=submission_id, status=Status.RUNNING, run_token=token)
        .first()
    )
    if locked is None:
        log.info("stale run not recorded", extra={"submission_id": submission_id})
        return False
    TestResult.objects.filter(submission_id=submission_id).delete()  # a regrade replaces them
    rows = TestResult.objects.bulk_create(
        [_result_row(locked, tests[report.id], index, report) for index, report in enumerate(result.tests)]
    )
    raw = sum((row.points_earned for row in rows), Decimal("0"))
    graded_before = locked.events.filter(status=Status.GRADED).exists()
    transition(
        submission_id,
        Status.GRADED,
        allowed_from=[Status.RUNNING],
        where={"run_token": token},
        detail=f"{raw} points",
        raw_score=raw,
        score=scoring.apply_penalty(raw, locked.late_penalty_percent),
        max_score=sum((row.points for row in rows), Decimal("0")),
        graded_at=timezone.now(),
        sandbox_seconds=result.duration,
        error_message="",
        findings=[f.as_dict() for f in findings or []],
        does_not_run=False,
    )
    locked.refresh_from_db()
    announce(
        locked,
        ScoreEvent.REGRADED if graded_before else ScoreEvent.GRADED,
        any_failed=any(r.outcome != sandbox.Outcome.PASSED for r in result.tests),
    )
    return True


def _result_row(
    submission: Submission, test_case: TestCase, index: int, report: sandbox.TestReport
) -> TestResult:
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


def mark_not_gradable(submission_id: int, message: str) -> bool:
    """Give up after repeated platform failures: status error, which costs no attempt. A
    submission that had a grade (a regrade that failed) keeps that grade instead."""
    if keep_previous_grade(submission_id, message):
        return True
    return transition(
        submission_id,
        Status.ERROR,
        allowed_from=[Status.QUEUED, Status.RUNNING],
        detail="not gradable",
        error_message=message[:2000],
        graded_at=timezone.now(),
    )


def keep_previous_grade(submission_id: int, message: str) -> bool:
    """A regrade that cannot finish leaves the attempt as it was graded before (its results are
    only replaced when a regrade records new ones): a platform failure never takes a grade away."""
    return transition(
        submission_id,
        Status.GRADED,
        allowed_from=[Status.QUEUED, Status.RUNNING],
        where={"raw_score__isnull": False},
        detail="regrade could not finish; the previous grade stands",
        error_message=message[:2000],
    )


# -- trial runs: the tests against files that are not an attempt -------------------------------
def run_trial(trial_id: int) -> GradeOutcome:
    """Run a TrialRun on this grading worker. Side effects: its status, results and counts,
    then the ``trial_finished`` announcement. A platform failure puts it back to queued (one
    more failure against its budget) and returns INFRA_ERROR for the task to retry."""
    claimed = TrialRun.objects.filter(pk=trial_id, status=TrialStatus.QUEUED).update(
        status=TrialStatus.RUNNING, status_changed_at=timezone.now()
    )
    if not claimed:
        return GradeOutcome.SKIPPED
    trial = TrialRun.objects.select_related("assignment").get(pk=trial_id)
    tests = {t.sandbox_id: t for t in trial.assignment.tests.all()}
    if not tests:
        _finish_trial(trial_id, TrialStatus.ERROR, error_message="The assignment has no tests yet.")
        return GradeOutcome.REJECTED
    try:
        job = job_for(trial.assignment, trial.files)
    except ValueError as exc:
        _finish_trial(trial_id, TrialStatus.ERROR, error_message=f"These files cannot be run: {exc}"[:2000])
        return GradeOutcome.REJECTED
    result = run_sandbox(job)
    if result.status != sandbox.RunStatus.OK:
        TrialRun.objects.filter(pk=trial_id, status=TrialStatus.RUNNING).update(
            status=TrialStatus.QUEUED,
            status_changed_at=timezone.now(),
            infra_failures=F("infra_failures") + 1,
            error_message=result.message[:2000],
        )
        return GradeOutcome.INFRA_ERROR
    rows = [_trial_row(tests[report.id], report) for report in result.tests]
    _finish_trial(
        trial_id,
        TrialStatus.DONE,
        results=rows,
        passed=sum(1 for row in rows if row["outcome"] == sandbox.Outcome.PASSED.value),
        total=len(rows),
        error_message="",
    )
    return GradeOutcome.GRADED


def _trial_row(test_case: TestCase, report: sandbox.TestReport) -> dict[str, Any]:
    return {
        "name": test_case.name,
        "visible": test_case.visible,
        "outcome": report.outcome.value,
        "points": str(test_case.points),
        "message": report.message,
        "expected": report.expected,
        "actual": report.actual,
        "error": report.error.model_dump() if report.error else None,
    }


def trial_budget_spent(trial_id: int) -> bool:
    """The same budget as a submission's (see retry_budget_spent)."""
    return _over_budget(TrialRun.objects.filter(pk=trial_id).values_list("infra_failures", flat=True).first())


def give_up_trial(trial_id: int) -> None:
    _finish_trial(
        trial_id,
        TrialStatus.ERROR,
        allowed_from=[TrialStatus.QUEUED, TrialStatus.RUNNING],
        error_message="The grading platform failed repeatedly; try again later.",
    )


@transaction.atomic
def _finish_trial(
    trial_id: int, status: str, allowed_from: Iterable[str] = (TrialStatus.RUNNING,), **fields: Any
) -> None:
    now = timezone.now()
    if TrialRun.objects.filter(pk=trial_id, status__in=list(allowed_from)).update(
        status=status, status_changed_at=now, finished_at=now, **fields
    ):
        announce_trial(TrialRun.objects.get(pk=trial_id))
