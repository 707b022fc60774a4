"""The Celery app. Queues: ``grading`` (sandbox runs), ``feedback`` (hints), ``default``.
Each app's tasks are found by autodiscovery; the grading worker's start-up and shutdown
hooks live in grading.worker."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_ready
from django.conf import settings
from django.db import close_old_connections, connections

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


@task_prerun.connect
@task_postrun.connect
def recycle_connections(task=None, **_):
    """Between tasks, what Django does between requests: drop a database connection that broke
    or outlived DATABASE_CONN_MAX_AGE, and health-check the others on their next use (the
    fix-up's per-task close is bounded by CELERY_DB_REUSE_MAX). Not for a task run eagerly
    inside a caller's transaction (tests): that connection is the caller's."""
    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()


@worker_ready.connect
def main_process_keeps_no_connection(**_):
    """The worker's main process runs no task, so nothing would ever recycle a connection it
    opened while starting (the fix-up no longer closes it there once CELERY_DB_REUSE_MAX is
    set): close them; the pool processes have their own."""
    connections.close_all()
