"""Webhook subscriptions of a course and the log of their deliveries."""

from __future__ import annotations

import secrets

from django.db import models

from webhooks.validation import validate_url


def _new_secret() -> str:
    return secrets.token_hex(32)


class Webhook(models.Model):
    """A URL that receives a signed POST when a submission of the course is graded."""

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=128, default=_new_secret, help_text="HMAC-SHA256 key shared with the receiver"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.course.code} -> {self.url}"

    def clean(self) -> None:
        validate_url(self.url)


class Delivery(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    submission = models.ForeignKey(
        "grader.Submission", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook.url} ({self.status})"
