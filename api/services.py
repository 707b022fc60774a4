"""API-only actions: finding the student a token acts for."""

from __future__ import annotations

from courses.models import Course, Membership, Role


def find_student(course: Course, who: str):
    """A student of the course by external id or e-mail, or None (staff are not students: a token
    never submits as a TA or an instructor)."""
    students = Membership.objects.filter(course=course, role=Role.STUDENT).select_related("user")
    membership = students.filter(external_id=who).first() or students.filter(user__email__iexact=who).first()
    return membership.user if membership else None
