"""The Celery app. Queues: ``grading`` (sandbox runs), ``feedback`` (hints), ``default``.
Each app's tasks are found by autodiscovery; the grading worker's start-up and shutdown
hooks live in grading.worker."""

import os

from celery import Celery
from celery.signals import worker_init
from django.conf import settings

from observe import exporter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grader.settings")

app = Celery("grader")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def prepare_metrics(**_):
    """Before the pool forks (and before the apps are ready, hence here): values of an earlier
    run of this service must not count again. The worker's other hooks: grading.worker."""
    if settings.WORKER_METRICS_PORT or exporter.multiprocess_dir():
        exporter.prepare_directory()
