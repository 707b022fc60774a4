"""Submissions and their per-test results."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from courses.models import Assignment, CountedSubmission, TestCase
from grading import scoring


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    GRADED = "graded", "Graded"
    ERROR = "error", "Not gradable (platform error)"
    REJECTED = "rejected", "Rejected (cannot be run)"


# Finished submissions; "error" and "rejected" cost no attempt.
FINISHED = (Status.GRADED, Status.ERROR, Status.REJECTED)
NOT_CHARGED = (Status.ERROR, Status.REJECTED)


# Graded, or being regraded: an attempt keeps its previous grade (and its results) until the
# regrade records new ones.
GRADED_OR_REGRADING = Q(status=Status.GRADED) | Q(
    status__in=[Status.QUEUED, Status.RUNNING], raw_score__isnull=False
)

# Code that does not run, where the assignment does not count such code: no attempt, no score,
# never the grade (Python twin: Submission.not_an_attempt).
NOT_AN_ATTEMPT = Q(does_not_run=True, assignment__count_broken_attempts=False)


class SubmissionQuerySet(models.QuerySet):
    def with_final_score(self) -> SubmissionQuerySet:
        """Annotates ``final``: each submission's final score (grading.scoring), in SQL; NULL
        for code that does not run where it does not count (Submission.final_score's twin)."""
        return self.annotate(
            final=models.Case(
                models.When(NOT_AN_ATTEMPT, then=models.Value(None)),
                default=scoring.FINAL_SCORE,
                output_field=scoring.SCORE_FIELD,
            )
        )

    def charged(self) -> SubmissionQuerySet:
        """The attempts that count against the limit and the minimum wait: not the platform's
        failures, and not code that does not run unless the assignment says it counts."""
        return self.exclude(status__in=NOT_CHARGED).exclude(NOT_AN_ATTEMPT)

    def counted(self) -> SubmissionQuerySet:
        """The attempt that counts for each (student, assignment) among these submissions'
        graded ones (or being regraded), annotated with ``final``: the last, or the best (ties: the later) where
        the assignment says "best". One query (PostgreSQL's DISTINCT ON); to order the result
        otherwise, filter on it: ``Submission.objects.filter(pk__in=qs.counted().values("pk"))``."""
        best_first = models.Case(
            models.When(assignment__counted_submission=CountedSubmission.BEST, then=models.F("final")),
            default=None,
            output_field=scoring.SCORE_FIELD,
        )
        # An attempt being regraded keeps counting with its previous grade until the new one.
        return (
            self.filter(GRADED_OR_REGRADING)
            .exclude(NOT_AN_ATTEMPT)
            .with_final_score()
            .annotate(best_key=best_first)
            .order_by("student_id", "assignment_id", models.F("best_key").desc(nulls_last=True), "-attempt")
            .distinct("student_id", "assignment_id")
        )

    def latest_graded(self) -> SubmissionQuerySet:
        """Each (student, assignment)'s most recent graded attempt among these submissions (the
        highest attempt number; one being regraded counts with its previous results), whatever
        the assignment counts for the grade: what the class answers now. Code that did not run
        has no answers: the attempt before it stands. One query (DISTINCT ON)."""
        return (
            self.filter(GRADED_OR_REGRADING)
            .exclude(does_not_run=True)
            .order_by("student_id", "assignment_id", "-attempt")
            .distinct("student_id", "assignment_id")
        )


class Submission(models.Model):
    """One attempt. The row itself is the outbox: a queued row is work to do, whether or not
    its Celery message made it to the broker (the sweeper re-enqueues stale ones)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    attempt = models.PositiveIntegerField()
    files = models.JSONField(help_text="File name to UTF-8 text")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    score = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    max_score = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    raw_score = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, help_text="Before the late penalty"
    )
    late_penalty_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    is_late = models.BooleanField(default=False)
    error_message = models.TextField(blank=True)
    # What reading the code found (grading.static_checks: never a hidden test's data), and whether
    # it means no test could run (then there are no test results).
    findings = models.JSONField(default=list, blank=True)
    does_not_run = models.BooleanField(default=False)
    infra_failures = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Each claim issues a token; only the holder of the current one may record results, so two
    # overlapping runs (a redelivered message, a sweeper requeue) can never both count.
    run_token = models.UUIDField(null=True, blank=True, editable=False)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the last claim")
    rubric_points = models.DecimalField(
        max_digits=9, decimal_places=2, default=0, help_text="Approved rubric points (added to the score)"
    )
    override_score = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Set by an instructor (see overrides)",
    )
    sandbox_seconds = models.FloatField(null=True, blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "student", "attempt"], name="unique_attempt_number"
            ),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="attempt_starts_at_one"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0), name="score_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(late_penalty_percent__gte=0) & Q(late_penalty_percent__lte=100),
                name="submission_penalty_in_range",
            ),
        ]
        indexes = [models.Index(fields=["assignment", "student"])]

    def __str__(self) -> str:
        return f"{self.assignment} #{self.attempt} by {self.student}"

    @property
    def main_file_text(self) -> str:
        """The student's main file, whose lines a hint may point at."""
        return self.files.get(self.assignment.main_file, "") if isinstance(self.files, dict) else ""

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def costs_an_attempt(self) -> bool:
        """Whether it counts against the attempt limit: the Python twin of
        SubmissionQuerySet.charged (tests hold the two equal)."""
        return not self.not_an_attempt and self.status not in NOT_CHARGED

    @property
    def not_an_attempt(self) -> bool:
        """Code that does not run, not counted as the assignment says: no attempt, no score
        (final_score is None), never the grade (SQL twin: NOT_AN_ATTEMPT)."""
        return self.does_not_run and not self.assignment.count_broken_attempts

    @property
    def final_score(self) -> Decimal | None:
        """What this attempt is worth: grading.scoring.final_score (SQL twin: with_final_score);
        None for code that does not run where it does not count: its stored 0 is no score, so
        no page, API answer or webhook shows one."""
        if self.not_an_attempt:
            return None
        return scoring.final_score(
            self.raw_score, self.rubric_points, self.late_penalty_percent, self.override_score
        )

    @cached_property
    def current_override(self) -> ScoreOverride | None:
        """The override that set this attempt's score (the latest one), or None. Reads
        ``overrides`` as prefetched when it was (a list of attempts: one query for all)."""
        if self.override_score is None:
            return None
        overrides = list(self.overrides.all())
        return overrides[-1] if overrides else None


class Outcome(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"
    TIMEOUT = "timeout", "Time limit exceeded"
    MEMORY = "memory", "Memory limit exceeded"
    CRASHED = "crashed", "Crashed"


class TestResult(models.Model):
    __test__ = False

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="results")
    test_case = models.ForeignKey(TestCase, on_delete=models.SET_NULL, null=True, related_name="results")
    # Snapshots: the test may be edited or deleted later; the result keeps what was graded.
    name = models.CharField(max_length=200)
    visible = models.BooleanField()
    order = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    points = models.DecimalField(max_digits=7, decimal_places=2)
    points_earned = models.DecimalField(max_digits=7, decimal_places=2)
    duration = models.FloatField(default=0)
    message = models.TextField(blank=True)
    test_input = models.TextField(blank=True, help_text="The expression or stdin, as graded")
    # None means "no value to show" (an error, a pytest file), which differs from empty output.
    expected = models.TextField(blank=True, null=True)  # noqa: DJ001
    actual = models.TextField(blank=True, null=True)  # noqa: DJ001
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    error = models.JSONField(null=True, blank=True, help_text="Exception type, message, line, traceback")

    class Meta:
        ordering = ["submission", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "test_case"], name="one_result_per_test"),
            models.CheckConstraint(condition=Q(points_earned__gte=0), name="earned_nonnegative"),
            models.CheckConstraint(
                condition=Q(points_earned__lte=models.F("points")), name="earned_at_most_points"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.submission}: {self.name} {self.outcome}"


class SubmissionEvent(models.Model):
    """One state transition, with its time: the submission's history."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=16, choices=Status.choices)
    at = models.DateTimeField(auto_now_add=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["submission", "at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} -> {self.status} at {self.at:%H:%M:%S}"


class ScoreOverride(models.Model):
    """Audit trail of instructors' score overrides; the latest one is the submission's override_score."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="overrides")
    score = models.DecimalField(max_digits=9, decimal_places=2)
    previous_score = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submission", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="override_needs_a_reason"),
            models.CheckConstraint(condition=Q(score__gte=0), name="override_score_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"override of {self.submission_id} to {self.score}"


class RegradeRun(models.Model):
    """A bulk regrade of an assignment; its progress is the state of the submissions it queued."""

    assignment = models.ForeignKey("courses.Assignment", on_delete=models.CASCADE, related_name="regrades")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submissions = models.ManyToManyField(Submission, related_name="regrades")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"regrade of {self.assignment} at {self.created_at:%Y-%m-%d %H:%M}"

    def progress(self) -> tuple[int, int]:
        """(finished, total)."""
        total = self.submissions.count()
        done = self.submissions.filter(status__in=FINISHED, status_changed_at__gte=self.created_at).count()
        return done, total


class TrialPurpose(models.TextChoices):
    REFERENCE = "reference", "Reference check"
    HINT_CHECK = "hint_check", "Hint check"


class TrialStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    ERROR = "error", "Could not be run"


class TrialRun(models.Model):
    """The assignment's tests run against files that are not a student's attempt: the
    instructor's reference solution, or a repair that tests whether a model's hint helps.
    It runs on the grading queue like a submission (the same worker, pool and retry budget);
    nobody is charged, nothing is graded. Its end is announced (grading.signals)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="trial_runs")
    purpose = models.CharField(max_length=16, choices=TrialPurpose.choices)
    files = models.JSONField(help_text="File name to UTF-8 text")
    # For hint checks: the attempt whose hint is being checked.
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, null=True, blank=True, related_name="trial_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=TrialStatus.choices, default=TrialStatus.QUEUED)
    passed = models.PositiveIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True, help_text="Per test: name, outcome, details")
    error_message = models.TextField(blank=True)
    infra_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "status_changed_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} of {self.assignment} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (TrialStatus.DONE, TrialStatus.ERROR)
