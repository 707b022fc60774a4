"""API-only actions: finding the student a token acts for."""

from __future__ import annotations

from courses.models import Course, Membership


def find_student(course: Course, who: str):
    """A student of the course by external id or e-mail, or None."""
    membership = (
        Membership.objects.filter(course=course, external_id=who).select_related("user").first()
        or Membership.objects.filter(course=course, user__email__iexact=who).select_related("user").first()
    )
    return membership.user if membership else None
