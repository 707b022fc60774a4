"""What the tool keeps of its calls to an LMS's services: grades sent back (AGS) and roster
syncs (NRPS). Loaded with ``lti.models``; the services are ``lti.ags`` and ``lti.nrps``."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PassbackState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Failed, retrying"
    FAILED = "failed", "Failed (gave up)"


class GradePassback(models.Model):
    """One student's grade in one LMS grade column (the line item of an assignment link).

    One row per (link, student), whatever the number of score changes: each change bumps
    ``version`` and marks the row pending; a send reads the counted score at that moment, so a
    late retry never sends an older score than the one the row asks for. ``sent_*`` is what the
    LMS last accepted.
    """

    link = models.ForeignKey("lti.AssignmentLink", on_delete=models.CASCADE, related_name="passbacks")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=PassbackState.choices, default=PassbackState.PENDING)
    version = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends tried since the last success")
    last_error = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    sent_score = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    sent_maximum = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    sent_progress = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["link", "student"]
        constraints = [
            models.UniqueConstraint(fields=["link", "student"], name="one_passback_per_student_and_line_item")
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.student} in {self.link} ({self.state})"


class RosterSync(models.Model):
    """The last roster sync of an LMS course (NRPS), for course staff."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    course_link = models.OneToOneField("lti.CourseLink", on_delete=models.CASCADE, related_name="roster_sync")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    summary = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"roster sync of {self.course_link} ({self.state})"
