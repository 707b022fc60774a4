"""Celery tasks for feedback (queue ``feedback``)."""

from celery import shared_task

from feedback import services


@shared_task(name="feedback.generate_feedback", acks_late=True, reject_on_worker_lost=True)
def generate_feedback(request_id: int) -> bool:
    """Produce the hint for one FeedbackRequest. Idempotent (claims pending -> in_progress).

    No retries: the deterministic hint cannot fail for outside reasons. Known gap, closed by
    the model-backed dispatcher (issue #5): a worker killed after the claim leaves the request
    in_progress, and nothing sweeps those yet.
    """
    return services.generate_feedback(request_id)
