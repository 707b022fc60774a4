"""Submitting: validate the files and the rules, store the attempt, enqueue its grading."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.models import Assignment, Extension, Membership
from courses.policy import closed_reason
from grading import scoring
from grading.models import Status, Submission, SubmissionQuerySet, TrialPurpose, TrialRun
from grading.states import log_created
from sandbox.schema import FILE_NAME

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)


class SubmissionRejected(Exception):
    """A submission the rules or its files do not allow; the message is for the student."""


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


def decode_uploads(uploads: list[Upload], main_file: str) -> dict[str, str]:
    """Check the files (names, sizes, UTF-8) and return name -> text.

    A single file is taken as the main file whatever its name, so students can
    upload ``my_try.py``; several files must include the main file.
    """
    if not uploads:
        raise SubmissionRejected("Choose a file to upload or paste your code.")
    if len(uploads) > settings.SUBMISSION_MAX_FILES:
        raise SubmissionRejected(f"At most {settings.SUBMISSION_MAX_FILES} files per submission.")
    total = sum(len(u.data) for u in uploads)
    if total > settings.SUBMISSION_MAX_BYTES:
        raise SubmissionRejected(
            f"The submission is {total:,} bytes; the limit is {settings.SUBMISSION_MAX_BYTES:,} bytes."
        )
    files: dict[str, str] = {}
    for upload in uploads:
        name = main_file if len(uploads) == 1 else upload.name
        if not FILE_NAME.match(name) or len(name) > 100:
            raise SubmissionRejected(f"{upload.name!r} is not an allowed file name (letters, digits, _ - .).")
        if name in files:
            raise SubmissionRejected(f"The file {name} appears twice.")
        if not upload.data.strip():
            raise SubmissionRejected(f"{upload.name} is empty.")
        try:
            text = upload.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionRejected(
                f"{upload.name} is not UTF-8 text (bad byte at position {exc.start}). Save it as UTF-8 and retry."
            ) from None
        if "\x00" in text:
            raise SubmissionRejected(
                f"{upload.name} contains NUL bytes; upload source code, not a binary file."
            )
        files[name] = text
    if main_file not in files:
        raise SubmissionRejected(f"The submission must contain {main_file}.")
    return files


def do_submit(student: User, assignment: Assignment, uploads: list[Upload]) -> Submission:
    """Store a new attempt (status queued) and enqueue its grading once committed.

    Side effects: one Submission row and its first event; a Celery message on queue
    ``grading`` after commit. Raises SubmissionRejected (nothing saved) for bad files,
    an archived assignment or course, a passed deadline, an exhausted attempt limit or a too-early resubmission.
    """
    closed = closed_reason(assignment)
    if closed:
        raise SubmissionRejected(closed)
    files = decode_uploads(uploads, assignment.main_file)
    with transaction.atomic():
        # Serialise one student's submissions to a course so attempt numbers and limits hold.
        Membership.objects.select_for_update().get(user=student, course_id=assignment.course_id)
        now = timezone.now()
        extension = Extension.objects.filter(assignment=assignment, student=student).first()
        try:
            late = scoring.lateness(assignment, now, extension)
        except scoring.LateRejected as exc:
            raise SubmissionRejected(str(exc)) from None
        previous = Submission.objects.filter(assignment=assignment, student=student)
        check_attempt_rules(assignment, previous, now)
        last = previous.order_by("-attempt").values_list("attempt", flat=True).first() or 0
        submission = Submission.objects.create(
            assignment=assignment,
            student=student,
            attempt=last + 1,
            files=files,
            is_late=late.is_late,
            late_penalty_percent=late.penalty_percent,
        )
        log_created(submission)
        transaction.on_commit(lambda: enqueue_grading(submission.pk))
    log.info("submission stored", extra={"submission_id": submission.pk})
    return submission


@dataclass(frozen=True)
class Allowance:
    """Where a student stands with an assignment's attempt rules at one moment."""

    used: int  # charged attempts: platform errors and rejected submissions cost none
    limit: int | None  # None: unlimited
    wait_seconds: float  # before the minimum wait since the last charged attempt is over (0: none)
    next_at: datetime | None  # when that wait is over (None: no wait)

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def attempt_allowance(assignment: Assignment, previous: SubmissionQuerySet, now: datetime) -> Allowance:
    """The one count of attempts, for the rule (check_attempt_rules) and the pages: the
    charged attempts among ``previous`` (one student's submissions to ``assignment``; see
    SubmissionQuerySet.charged), and how long the minimum wait between attempts still runs at ``now``."""
    charged = previous.charged()
    used = charged.count()
    wait, next_at = 0.0, None
    if assignment.min_seconds_between_attempts:
        latest = charged.order_by("-submitted_at").values_list("submitted_at", flat=True).first()
        if latest is not None:
            next_at = latest + timedelta(seconds=assignment.min_seconds_between_attempts)
            wait = max(0.0, (next_at - now).total_seconds())
            if wait == 0:
                next_at = None
    return Allowance(used=used, limit=assignment.attempt_limit, wait_seconds=wait, next_at=next_at)


def check_attempt_rules(assignment: Assignment, previous: SubmissionQuerySet, now: datetime) -> None:
    """The attempt limit (platform errors do not count) and the minimum wait between attempts."""
    allowance = attempt_allowance(assignment, previous, now)
    if allowance.exhausted:
        raise SubmissionRejected(
            f"You have used all {assignment.attempt_limit} attempts for this assignment."
        )
    if allowance.wait_seconds > 0:
        raise SubmissionRejected(
            f"Please wait {math.ceil(allowance.wait_seconds)} more seconds before submitting again."
        )


LOWEST_PRIORITY = 9


def fair_priority(submission_id: int) -> int:
    """0 (first) to 9: how much of the submission's own course is already waiting."""
    course_id = (
        Submission.objects.filter(pk=submission_id).values_list("assignment__course_id", flat=True).first()
    )
    if course_id is None:
        return LOWEST_PRIORITY
    waiting = Submission.objects.filter(assignment__course_id=course_id, status=Status.QUEUED).count()
    return min(LOWEST_PRIORITY, max(0, waiting - 1) // settings.GRADING_FAIR_SHARE)


def enqueue_grading(submission_id: int, queue: str = "grading", priority: int | None = None) -> None:
    """Send the grading message. If the broker is down the row stays queued for the sweeper."""
    try:
        if priority is None:
            priority = fair_priority(submission_id)
        # By name: the task module imports this one (through the sweeper).
        current_app.send_task("grader.grade_submission", (submission_id,), queue=queue, priority=priority)
    except Exception:  # noqa: BLE001 - kombu raises many kinds; the row is the source of truth
        log.exception("could not enqueue grading", extra={"submission_id": submission_id})


def grading_backlog(queue: str = "grading") -> int | None:
    """Messages waiting in the broker's queue (None when the broker cannot be reached)."""
    try:
        with current_app.connection_for_read() as conn:
            # Not passive: on Redis an empty queue does not exist, and a passive declare would fail.
            declared = conn.default_channel.queue_declare(  # type: ignore[attr-defined]  # kombu's Channel, not in the stubs' StdChannel
                queue=queue, durable=True, auto_delete=False
            )
            return int(declared.message_count)
    except Exception:  # noqa: BLE001
        return None


def enqueue_trial(trial_id: int, priority: int = 0) -> None:
    """Send a trial run to the grading queue. If the broker is down the row stays queued for
    the sweeper."""
    try:
        current_app.send_task("grader.run_trial", (trial_id,), queue="grading", priority=priority)
    except Exception:  # noqa: BLE001 - kombu raises many kinds; the row is the source of truth
        log.exception("could not enqueue a trial run", extra={"trial_id": trial_id})


def request_hint_check(submission: Submission, files: dict[str, str]) -> TrialRun:
    """Inside the caller's transaction: queue a trial of ``files`` (a repair of ``submission``)
    on the grading queue, behind students' submissions. Its end is announced
    (grading.signals.trial_finished) to whoever asked."""
    trial = TrialRun.objects.create(
        assignment=submission.assignment, purpose=TrialPurpose.HINT_CHECK, files=files, submission=submission
    )
    transaction.on_commit(lambda: enqueue_trial(trial.pk, priority=LOWEST_PRIORITY))
    return trial
