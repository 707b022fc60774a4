"""Celery tasks for the LMS's services: thin wrappers around lti.ags and lti.nrps."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from lti import ags, nrps


@shared_task(
    name="lti.send_grade",
    bind=True,
    acks_late=True,
    autoretry_for=(ags.PassbackFailed,),
    retry_backoff=1,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=settings.LTI_PASSBACK_MAX_RETRIES,
)
def send_grade(self, passback_id: int) -> str:
    """Send one student's latest counted score to one LMS grade column. Retries on an LMS
    error, a timeout or a network error with exponential backoff (1 s, 2 s, 4 s... up to
    10 min, jittered), LTI_PASSBACK_MAX_RETRIES times; the last try marks the row failed
    (shown to course staff, who may send it again)."""
    return ags.send_passback(passback_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task(name="lti.resend_stale_grades")
def resend_stale_grades() -> int:
    """Periodic: re-send grades whose message was lost (rows pending for too long)."""
    return ags.resend_stale()


@shared_task(name="lti.sync_roster", acks_late=True)
def sync_roster(course_link_id: int) -> dict:
    """Sync one course's roster from its LMS (NRPS). No retries: the outcome is shown to course
    staff, and the periodic sync runs again."""
    return nrps.run_sync(course_link_id)


@shared_task(name="lti.sync_rosters")
def sync_rosters() -> int:
    """Periodic: queue a roster sync for every LMS course that offers NRPS."""
    return nrps.queue_all()
