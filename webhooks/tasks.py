"""Celery task for webhook deliveries: a thin wrapper around webhooks.services."""

from __future__ import annotations

from celery import shared_task

from webhooks import services


@shared_task(
    name="webhooks.deliver",
    bind=True,
    acks_late=True,
    autoretry_for=(services.DeliveryFailed,),
    retry_backoff=1,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_webhook(self, delivery_id: int) -> bool:
    """POST one webhook delivery. Retries on a non-2xx answer or a network error with
    exponential backoff (1 s, 2 s, 4 s... up to 10 min, jittered), 8 times, then gives up
    (status failed, visible in the admin's delivery log)."""
    if self.request.retries >= self.max_retries:
        try:
            return services.deliver(delivery_id)
        except services.DeliveryFailed:
            services.give_up(delivery_id)
            return False
    return services.deliver(delivery_id)
