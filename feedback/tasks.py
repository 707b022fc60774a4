"""Celery tasks for feedback (queue ``feedback``)."""

import time

from celery import shared_task

from feedback import dispatcher


@shared_task(name="feedback.dispatch", acks_late=True, ignore_result=True)
def dispatch(budget_seconds: float = 50.0) -> int:
    """Drain pending feedback requests in batches for up to ``budget_seconds``.

    Sent after each FeedbackRequest is created and every few seconds by beat. Idempotent:
    requests are claimed with SKIP LOCKED, so any number of these can run at once. No task
    retry: a failed model call puts its request back to pending with its own backoff, and a
    worker that dies mid-batch leaves leases that expire (release_expired_leases).
    """
    dispatcher.release_expired_leases()
    dispatcher.decide_stale_checks()
    handled, end = 0, time.monotonic() + budget_seconds
    while time.monotonic() < end and (batch := dispatcher.dispatch_once()):
        handled += batch
    return handled
