"""The Celery app. Queues: ``grading`` (sandbox runs), ``feedback`` (hints), ``default``."""

import os

from celery import Celery
from celery.signals import worker_process_shutdown, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grader.settings")

app = Celery("grader")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def remove_abandoned_sandboxes(**_):
    """Containers a crashed worker left behind on this Docker host (found by label)."""
    from sandbox import janitor

    janitor.sweep()


@worker_process_shutdown.connect
def close_container_pool(**_):
    from grader.grading import close_pool

    close_pool()
