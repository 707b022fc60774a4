"""Readiness of a process of the platform: what it needs to do its work, each check giving
"" (fine) or what is wrong. The web's /readyz needs the database and the broker; a grading
worker also needs its Docker daemon and the sandbox image (its metrics port's /readyz and
``manage.py worker_ready_check``)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from kombu import Connection

import sandbox.health
from grading.run import image_tag

TIMEOUT_SECONDS = 3


def database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; its text says why
        return f"the database does not answer: {type(exc).__name__}: {str(exc).strip()[:300]}"
    return ""


def broker() -> str:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return f"the broker does not answer: {type(exc).__name__}: {str(exc).strip()[:300]}"
    return ""


def web() -> dict[str, str]:
    return {"database": database(), "broker": broker()}


def worker(runs_sandboxes: bool = True) -> dict[str, str]:
    checks = web()
    if runs_sandboxes:
        checks.update(sandbox.health.problems(image_tag(), timeout=TIMEOUT_SECONDS))
    return checks
