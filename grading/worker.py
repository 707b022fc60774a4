"""The grading worker's life cycle on its Docker host (connected when the app is ready)."""

from __future__ import annotations

from celery.signals import worker_process_shutdown, worker_ready

from grading.run import close_pool
from sandbox import janitor


@worker_ready.connect
def remove_abandoned_sandboxes(**_):
    """Containers a crashed worker left behind on this Docker host (found by label)."""
    janitor.sweep()


@worker_process_shutdown.connect
def close_container_pool(**_):
    close_pool()
