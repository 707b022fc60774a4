"""The site's face of the permission policy (courses.policy). Anything a user may not see or do
is a 404, so pages never reveal that a course, an assignment or a submission exists."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from courses.models import Assignment, Membership
from courses.policy import Cap, membership_capabilities


def membership_for(user, course_code: str) -> Membership:
    """The user's membership of the course, or 404 (also for courses that do not exist)."""
    try:
        return Membership.objects.select_related("course").get(user=user, course__code=course_code)
    except Membership.DoesNotExist:
        raise Http404("No such course") from None


def require(user, course_code: str, cap: Cap) -> Membership:
    """The user's membership, if their role grants ``cap`` in the course; else 404."""
    membership = membership_for(user, course_code)
    if cap not in membership_capabilities(membership):
        raise Http404("No such page")
    return membership


def assignment_for(
    user, course_code: str, slug: str, cap: Cap = Cap.VIEW_COURSE
) -> tuple[Membership, Assignment]:
    """A published assignment for members; drafts and archived assignments only for those who
    may see drafts."""
    membership = require(user, course_code, cap)
    assignment = get_object_or_404(Assignment, course=membership.course, slug=slug)
    hidden = not assignment.published or assignment.archived_at is not None
    if hidden and Cap.VIEW_DRAFTS not in membership_capabilities(membership):
        raise Http404("No such assignment")
    return membership, assignment
