"""Who may see what. Anything a user may not see is a 404, so pages never reveal
that a course, an assignment or a submission exists."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from courses.models import STAFF_ROLES, Assignment, Membership, Role


def membership_for(user, course_code: str) -> Membership:
    """The user's membership of the course, or 404 (also for courses that do not exist)."""
    try:
        return Membership.objects.select_related("course").get(user=user, course__code=course_code)
    except Membership.DoesNotExist:
        raise Http404("No such course") from None


def staff_membership_for(user, course_code: str) -> Membership:
    membership = membership_for(user, course_code)
    if not membership.is_staff:
        raise Http404("No such page")
    return membership


def instructor_membership_for(user, course_code: str) -> Membership:
    """For instructor-only pages (authoring, people, publishing...): anyone else gets a 404."""
    membership = membership_for(user, course_code)
    if membership.role != Role.INSTRUCTOR:
        raise Http404("No such page")
    return membership


def assignment_for(user, course_code: str, slug: str) -> tuple[Membership, Assignment]:
    """A published assignment for members; drafts only for course staff."""
    membership = membership_for(user, course_code)
    assignment = get_object_or_404(Assignment, course=membership.course, slug=slug)
    if not assignment.published and not membership.is_staff:
        raise Http404("No such assignment")
    return membership, assignment


def is_course_staff(user, course_id: int) -> bool:
    return Membership.objects.filter(user=user, course_id=course_id, role__in=STAFF_ROLES).exists()


def can_see_submission(user, submission) -> bool:
    return submission.student_id == user.pk or is_course_staff(user, submission.assignment.course_id)
