"""Creating and archiving courses, for the site and the REST API. Who may is the policy's
(courses.policy: may_create_courses, Cap.ARCHIVE); the creator's enrolment is the roster's."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from courses.models import Course, Role
from courses.roster import set_role


@transaction.atomic
def create_course(creator, course: Course) -> Course:
    """Validate and save a new course and make ``creator`` its instructor (roster.set_role).
    Raises ValidationError (nothing saved) with per-field messages, e.g. a code in use."""
    course.full_clean()
    course.save()
    set_role(course, creator, Role.INSTRUCTOR)
    return course


def set_course_archived(course: Course, archived: bool) -> Course:
    """Archive a course (read-only for everyone, off the dashboards; grades stay readable) or
    restore it. The policy narrows what anyone may do there (courses.policy.in_force)."""
    course.archived_at = (course.archived_at or timezone.now()) if archived else None
    course.save(update_fields=["archived_at"])
    return course
