"""Webhooks: signed JSON POSTs when a submission is graded.

Signature (for receivers): ``X-Grader-Signature: sha256=<hex>`` where hex is
HMAC-SHA256(secret, "<X-Grader-Timestamp>." + raw body). Reject a timestamp older
than a few minutes (replay) and compare with a constant-time function; see
``verify_signature``. Deliveries retry with exponential backoff and are logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import requests
from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from grading.models import Submission
from grading.signals import ScoreEvent
from observe import metrics
from webhooks.models import Delivery, Webhook, WebhookDelivery
from webhooks.validation import validate_url

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300) -> bool:
    """What a receiver does: constant-time compare, and refuse stale timestamps (replays)."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def graded_payload(submission: Submission, event: str = ScoreEvent.GRADED) -> dict:
    assignment = submission.assignment
    return {
        "event": str(event),
        "submission": {
            "id": submission.pk,
            "course": assignment.course.code,
            "assignment": assignment.slug,
            "student": {"username": submission.student.get_username(), "email": submission.student.email},
            "attempt": submission.attempt,
            "status": submission.status,
            "score": _number(submission.score),
            "max_score": _number(submission.max_score),
            "final_score": _number(submission.final_score),
            # What the student's grade for the assignment is now (the counted attempt may be
            # another one): the same number as the gradebook's.
            "counted_score": _number(_counted_score(submission)),
            "is_late": submission.is_late,
            "late_penalty_percent": _number(submission.late_penalty_percent),
            "graded_at": submission.graded_at.isoformat() if submission.graded_at else None,
        },
    }


def _counted_score(submission: Submission):
    counted = Submission.objects.filter(
        assignment_id=submission.assignment_id, student_id=submission.student_id
    ).counted()
    first = counted.first()
    return None if first is None else first.final


def _number(value):
    return None if value is None else float(value)


def queue_deliveries(submission: Submission, event: str = ScoreEvent.GRADED) -> None:
    """One delivery row per active webhook of the course; each is sent after commit."""
    hooks = Webhook.objects.filter(course_id=submission.assignment.course_id, active=True)
    if not hooks:
        return
    payload = graded_payload(submission, event)
    for hook in hooks:
        delivery = WebhookDelivery.objects.create(
            webhook=hook, submission=submission, event=str(event), payload=payload
        )
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))


def _enqueue(delivery_id: int) -> None:
    try:
        # By name: the task module imports this one. Routed by settings.CELERY_TASK_ROUTES.
        current_app.send_task("webhooks.deliver", (delivery_id,))
    except Exception:  # noqa: BLE001 - the pending row stays; the sweeper retries it
        log.exception("could not enqueue webhook", extra={"delivery_id": delivery_id})


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx; the task retries with backoff."""


def deliver(delivery_id: int) -> bool:
    """POST one delivery. Returns False if it is already done; raises DeliveryFailed to retry."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status != Delivery.PENDING:
        return False
    body = json.dumps({**delivery.payload, "delivery": delivery.pk}, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "grader-webhooks/1",
        "X-Grader-Event": delivery.event,
        "X-Grader-Delivery": str(delivery.pk),
        "X-Grader-Timestamp": timestamp,
        "X-Grader-Signature": sign(delivery.webhook.secret, timestamp, body),
    }
    delivery.attempts += 1
    try:
        validate_url(delivery.webhook.url)  # again: DNS may have changed since it was saved
        response = requests.post(
            delivery.webhook.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except (requests.RequestException, ValidationError) as exc:
        _failed(delivery, None, str(exc))
        raise DeliveryFailed(str(exc)) from exc
    if not 200 <= response.status_code < 300:
        _failed(delivery, response.status_code, response.text[:500])
        raise DeliveryFailed(f"HTTP {response.status_code}")
    delivery.status, delivery.response_code, delivery.delivered_at = (
        Delivery.DELIVERED,
        response.status_code,
        timezone.now(),
    )
    delivery.last_error = ""
    delivery.save()
    metrics.webhook_delivery("delivered")
    return True


def _failed(delivery: WebhookDelivery, code: int | None, error: str) -> None:
    delivery.response_code, delivery.last_error = code, error[:2000]
    delivery.save(update_fields=["attempts", "response_code", "last_error"])
    metrics.webhook_delivery("failed")


def give_up(delivery_id: int) -> None:
    if WebhookDelivery.objects.filter(pk=delivery_id, status=Delivery.PENDING).update(status=Delivery.FAILED):
        metrics.webhook_delivery("gave_up")
