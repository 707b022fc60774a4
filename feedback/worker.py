"""The feedback worker's start-up (connected when the app is ready)."""

from __future__ import annotations

import logging

from celery.signals import worker_ready
from django.conf import settings

from feedback.dispatcher import check_servers_now, replica_urls

log = logging.getLogger(__name__)


def _serves_feedback(consumer) -> bool:
    queues = getattr(getattr(consumer, "task_consumer", None), "queues", None) or []
    names = {queue.name for queue in queues}
    return not names or "feedback" in names


@worker_ready.connect
def check_model_server(sender=None, **_):
    """Say at once, in the worker's log, whether the model server serves LLM_MODEL and what
    context length it has; the same is checked again before every batch."""
    if not replica_urls() or not _serves_feedback(sender):
        return
    try:
        statuses = check_servers_now()
    except Exception:  # noqa: BLE001 - start-up must not die on an advisory check
        log.exception("could not check the model servers")
        return
    for url, status in statuses.items():
        if status.get("problem"):
            log.error("model hints will not be served by %s: %s", url, status["problem"])
        else:
            log.info(
                "model server ok: %s serves %s (context %s tokens)",
                url,
                settings.LLM_MODEL,
                status.get("max_model_len") or "unknown",
            )
