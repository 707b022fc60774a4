"""Feedback requests (work for the hint dispatcher) and the hints it produced."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from grading.models import Submission


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    CHECKING = "checking", "Checking the hint in the sandbox"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Priority(models.IntegerChoices):
    INTERACTIVE = 0, "A student is waiting"
    BULK = 10, "Bulk (regrade)"


class FeedbackRequestQuerySet(models.QuerySet):
    def update(self, **kwargs):
        # auto_now applies to save() only; the dispatcher moves requests with update(), and
        # "when did this request last change" must stay true for operators.
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class FeedbackRequest(models.Model):
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="feedback_request")
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.INTERACTIVE)
    tries = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text="Retry backoff: not sent before this")
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="In progress until; then it is free again"
    )
    # Sandbox-checked hints: the model's answer waits here while a trial run of its repair
    # (grading queue) decides whether the student sees it.
    candidate = models.JSONField(null=True, blank=True)
    trial = models.ForeignKey(
        "grader.TrialRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FeedbackRequestQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [models.Index(fields=["status", "priority", "created_at"])]

    def __str__(self) -> str:
        return f"feedback for {self.submission} ({self.status})"


class Source(models.TextChoices):
    LLM = "llm", "Model"
    FALLBACK = "fallback", "Automatic (from test results)"


class Feedback(models.Model):
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="feedback")
    hint = models.TextField()
    line = models.PositiveIntegerField(
        null=True, blank=True, help_text="Line of the student's code pointed at"
    )
    concept = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    latency_seconds = models.FloatField(null=True, blank=True)
    ttft_seconds = models.FloatField(null=True, blank=True, help_text="Time to the first token")
    model_calls = models.PositiveSmallIntegerField(default=0)
    candidates = models.PositiveSmallIntegerField(
        default=1, help_text="Best-of-n: how many hints the model proposed to choose from"
    )
    left_out = models.TextField(
        blank=True, help_text="What the prompt left out to fit the model's context window"
    )
    rating = models.SmallIntegerField(null=True, blank=True, help_text="Student's rating: 1 helpful, -1 not")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__in=[-1, 1]), name="rating_is_plus_or_minus_one"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} hint for {self.submission}"


class RubricStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class RubricScore(models.Model):
    """The model's proposed score for one rubric item; counts only once approved."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="rubric_scores")
    item = models.ForeignKey("courses.RubricItem", on_delete=models.CASCADE, related_name="scores")
    points = models.DecimalField(max_digits=7, decimal_places=2)
    justification = models.TextField()
    status = models.CharField(max_length=16, choices=RubricStatus.choices, default=RubricStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submission", "item__order"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "item"], name="one_rubric_score_per_item"),
            models.CheckConstraint(condition=Q(points__gte=0), name="rubric_points_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.item.name}: {self.points} ({self.status})"
