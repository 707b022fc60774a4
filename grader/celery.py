"""The Celery app. Queues: ``grading`` (sandbox runs), ``feedback`` (hints), ``default``.
Each app's tasks are found by autodiscovery; the grading worker's start-up and shutdown
hooks live in grading.worker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grader.settings")

app = Celery("grader")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
